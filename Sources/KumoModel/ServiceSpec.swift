/// A stable virtual IP load-balanced over the ready replicas its selector matches (project-scoped).
///
/// Every node's HAProxy serves the VIP (`spec.clusterIP`, from the service CIDR, allocated by the control plane
/// and owned by `ipam`); `external` also publishes one port on every node's underlay address.
public typealias Service = Object<ServiceSpec>

public struct ServiceSpec: ResourceSpec {
    public typealias Status = ServiceStatus
    public static var kind: Kind { .service }

    /// Labels of the replicas to send traffic to (required, not empty).
    public var selector: [String: String]
    /// At least one; (port, protocol) and names unique.
    public var ports: [ServicePort]
    /// The VIP from the service CIDR (allocated by the control plane when absent; cannot change afterwards).
    public var clusterIP: String?
    /// Publishes one service port on every node's underlay address (unique across the cluster).
    public var external: ServiceExternal?
    /// Active health checks by every node's HAProxy (default: on, TCP connect, every 2 s).
    public var healthCheck: ServiceHealthCheck?
    /// How requests are spread (default roundrobin).
    public var balance: BalanceAlgorithm?
    /// Concurrent connections each node's HAProxy sends one replica (its `maxconn`); more wait in the backend's
    /// queue — the figure that says "not enough replicas". Default: no limit.
    public var maxConnectionsPerReplica: Int?

    public init(
        selector: [String: String], ports: [ServicePort], clusterIP: String? = nil, external: ServiceExternal? = nil,
        healthCheck: ServiceHealthCheck? = nil, balance: BalanceAlgorithm? = nil
    ) {
        self.selector = selector
        self.ports = ports
        self.clusterIP = clusterIP
        self.external = external
        self.healthCheck = healthCheck
        self.balance = balance
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if selector.isEmpty { errors.append(FieldError("\(path).selector", "must not be empty")) }
        errors += MetadataValidation.validateLabels(selector, path: "\(path).selector")
        if ports.isEmpty { errors.append(FieldError("\(path).ports", "must have at least one port")) }
        var seenPorts: Set<String> = []
        var seenNames: Set<String> = []
        for (i, p) in ports.enumerated() {
            let at = "\(path).ports[\(i)]"
            if let name = p.name {
                if let why = Names.validateDNSLabel(name) {
                    errors.append(FieldError("\(at).name", why))
                } else if !seenNames.insert(name).inserted {
                    errors.append(FieldError("\(at).name", "duplicate port name \"\(name)\""))
                }
            }
            // HTTP and TCP share the VIP's TCP port
            if !SpecValidation.isPort(p.port) {
                errors.append(FieldError("\(at).port", "must be between 1 and 65535"))
            } else if !seenPorts.insert("\(p.port)").inserted {
                errors.append(FieldError("\(at).port", "duplicate port \(p.port)"))
            }
            if let t = p.targetPort, !SpecValidation.isPort(t) {
                errors.append(FieldError("\(at).targetPort", "must be between 1 and 65535"))
            }
        }
        if let clusterIP, !SpecValidation.isIPv4(clusterIP) {
            errors.append(FieldError("\(path).clusterIP", "must be an IPv4 address"))
        }
        if let external {
            if !ServiceExternal.portRange.contains(external.port) {
                errors.append(
                    FieldError(
                        "\(path).external.port",
                        "must be between \(ServiceExternal.portRange.lowerBound) and \(ServiceExternal.portRange.upperBound) (the node port range, clear of the agent's and other daemons' ports)"))
            }
            if let sp = external.servicePort, !ports.contains(where: { $0.port == sp }) {
                errors.append(FieldError("\(path).external.servicePort", "\(sp) is not one of spec.ports"))
            }
        }
        if let m = maxConnectionsPerReplica, !(1...100_000).contains(m) {
            errors.append(FieldError("\(path).maxConnectionsPerReplica", "must be between 1 and 100000"))
        }
        if let h = healthCheck {
            if let i = h.intervalSeconds, !(1...3600).contains(i) {
                errors.append(FieldError("\(path).healthCheck.intervalSeconds", "must be between 1 and 3600"))
            }
            if let r = h.rise, !(1...100).contains(r) {
                errors.append(FieldError("\(path).healthCheck.rise", "must be between 1 and 100"))
            }
            if let f = h.fall, !(1...100).contains(f) {
                errors.append(FieldError("\(path).healthCheck.fall", "must be between 1 and 100"))
            }
            if let p = h.path, !p.hasPrefix("/") || p.contains(where: { $0 == " " || $0.isNewline || $0 == "\"" }) {
                errors.append(FieldError("\(path).healthCheck.path", "must start with / and contain no spaces or quotes"))
            }
        }
        return errors
    }

    /// Whether a replica with these labels is one of this service's backends (every selector pair present).
    public func selects(_ labels: [String: String]?) -> Bool {
        guard !selector.isEmpty else { return false }
        let labels = labels ?? [:]
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// The service port `external` publishes (default: the first).
    public var externalServicePort: ServicePort? {
        guard let external else { return nil }
        if let sp = external.servicePort { return ports.first { $0.port == sp } }
        return ports.first
    }
}

public struct ServicePort: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    /// The port on the VIP, 1...65535.
    public var port: Int
    /// The replicas' port (default `port`).
    public var targetPort: Int?
    /// `HTTP` (HAProxy mode http: request metrics, retries of failed requests) or `TCP` (default).
    public var `protocol`: ServiceProtocol?

    public init(name: String? = nil, port: Int, targetPort: Int? = nil, protocol: ServiceProtocol? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.protocol = `protocol`
    }

    public var effectiveTargetPort: Int { targetPort ?? port }
}

public enum ServiceProtocol: String, Codable, CaseIterable, Sendable, Hashable {
    case tcp = "TCP"
    case http = "HTTP"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// `external: {port}`: the node port on every node's underlay address.
public struct ServiceExternal: Codable, Sendable, Equatable, Hashable {
    /// Node ports, as Kubernetes' NodePort range: a port here never collides with the agent (7481), the API server
    /// (7480), SSH or other well-known daemons on the node — a bind failure would stop the node's HAProxy reloads.
    public static let portRange = 30000...32767

    public var port: Int
    /// Which of `spec.ports` (by port number) it forwards to; default the first.
    public var servicePort: Int?

    public init(port: Int, servicePort: Int? = nil) {
        self.port = port
        self.servicePort = servicePort
    }
}

public struct ServiceHealthCheck: Codable, Sendable, Equatable, Hashable {
    /// Default true.
    public var enabled: Bool?
    /// HTTP GET path for HTTP ports (default: a TCP connect check).
    public var path: String?
    /// Default 2.
    public var intervalSeconds: Int?
    /// Successes before a server is up again (default 1).
    public var rise: Int?
    /// Failures before a server is down (default 2).
    public var fall: Int?

    public init(enabled: Bool? = nil, path: String? = nil, intervalSeconds: Int? = nil, rise: Int? = nil, fall: Int? = nil) {
        self.enabled = enabled
        self.path = path
        self.intervalSeconds = intervalSeconds
        self.rise = rise
        self.fall = fall
    }
}

public enum BalanceAlgorithm: String, Codable, CaseIterable, Sendable, Hashable {
    case roundrobin, leastconn, source, random

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

public struct ServiceStatus: Codable, Sendable, Equatable {
    /// The replicas behind the VIP (written by the endpoints controller).
    public var endpoints: [Endpoint]?
    /// Increases with every endpoints change; nodes report the generation they have applied.
    public var generation: Int?
    /// `Ready` when it has endpoints, `NoEndpoints` otherwise.
    public var reason: String?
    public var message: String?

    public init(endpoints: [Endpoint]? = nil, generation: Int? = nil, reason: String? = nil, message: String? = nil) {
        self.endpoints = endpoints
        self.generation = generation
        self.reason = reason
        self.message = message
    }
}

/// One backend of a service.
public struct Endpoint: Codable, Sendable, Equatable, Hashable {
    public var ip: String
    public var port: Int?
    /// Replica name.
    public var replica: String?
    /// Node name.
    public var node: String?
    public var ready: Bool?

    public init(ip: String, port: Int? = nil, replica: String? = nil, node: String? = nil, ready: Bool? = nil) {
        self.ip = ip
        self.port = port
        self.replica = replica
        self.node = node
        self.ready = ready
    }
}
