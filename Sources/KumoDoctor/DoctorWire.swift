/// Wire types of the doctor's API besides `DoctorReport` and `NodeHealthReport`.

/// `kumo explain [COMPONENT]`: each component's profile, who depends on it, and its live status now.
public struct ComponentStatus: Codable, Sendable, Equatable {
    public var profile: ComponentProfile
    public var dependents: [Component]
    /// One line now, e.g. `dnsmasq on node-2: answering, pid 4711, 3 hosts, 0 refusals in 600 s`.
    public var live: [String]
    /// Codes failing now that hold this component responsible.
    public var failing: [String]

    public init(profile: ComponentProfile, dependents: [Component], live: [String], failing: [String]) {
        self.profile = profile
        self.dependents = dependents
        self.live = live
        self.failing = failing
    }
}

public struct ComponentStatusList: Codable, Sendable, Equatable {
    public var items: [ComponentStatus]

    public init(items: [ComponentStatus]) { self.items = items }
}

/// `POST /api/v1/doctor/mutes`.
public struct HealthMuteRequest: Codable, Sendable {
    public var code: String
    public var ttlSeconds: Int?
    public var sticky: Bool?

    public init(code: String, ttlSeconds: Int? = nil, sticky: Bool? = nil) {
        self.code = code
        self.ttlSeconds = ttlSeconds
        self.sticky = sticky
    }
}

public struct HealthMuteList: Codable, Sendable {
    public var items: [HealthMute]

    public init(items: [HealthMute]) { self.items = items }
}
