/// The spec half of a kind: its desired state, its status type, and its validation.
public protocol ResourceSpec: Codable, Sendable, Equatable {
    associatedtype Status: Codable, Sendable, Equatable = EmptyStatus
    static var kind: Kind { get }
    /// Semantic validation. `path` is the spec's field path (`"spec"`); findings name full field paths
    /// such as `spec.template.resources.cpu`.
    func validate(path: String, metadata: ObjectMeta) -> [FieldError]
    /// Semantic validation of a status (written by agents and controllers, but also by anyone with `edit` on
    /// the kind): what other components read from it and act on — a URL they call, an address they route to.
    static func validate(status: Status, path: String) -> [FieldError]
}

extension ResourceSpec {
    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] { [] }
    public static func validate(status: Status, path: String) -> [FieldError] { [] }
}

/// Status for kinds that have none yet.
public struct EmptyStatus: Codable, Sendable, Equatable {
    public init() {}
}

/// One typed object of the `kumo/v1` API: `Object<NodeSpec>` is a Node (alias `Node`).
public struct Object<Spec: ResourceSpec>: Codable, Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Spec.Status?

    public init(metadata: ObjectMeta, spec: Spec, status: Spec.Status? = nil) {
        self.apiVersion = Kind.apiVersion
        self.kind = Spec.kind.rawValue
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}
