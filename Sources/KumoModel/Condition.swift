/// One observed condition of an object (`Ready`, `Available`, …), as in Kubernetes.
public struct Condition: Codable, Sendable, Equatable, Hashable {
    /// `Ready`, `MemoryPressure`, `Progressing`, …
    public var type: String
    public var status: ConditionStatus
    /// A CamelCase reason for the last transition.
    public var reason: String?
    public var message: String?
    /// RFC 3339 time the status last changed.
    public var lastTransitionTime: String?

    public init(
        type: String, status: ConditionStatus, reason: String? = nil, message: String? = nil,
        lastTransitionTime: String? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}

public enum ConditionStatus: String, Codable, CaseIterable, Sendable, Hashable {
    case `true` = "True"
    case `false` = "False"
    case unknown = "Unknown"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}
