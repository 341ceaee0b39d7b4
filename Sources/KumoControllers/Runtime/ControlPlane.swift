import KumoModel

/// What controllers need from the control plane. The server implements it in process over its resource service
/// (same validation, ownership and history as the API); tests can run controllers against a real server the same
/// way. Every write names its manager (`scheduler`, `workloads`, `node-lifecycle`).
public protocol ControlPlane: Sendable {
    /// All objects of a kind (across projects) and the revision they were read at.
    func list(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64)
    /// Changes of a kind after `since`.
    func watch(_ kind: Kind, since: Int64) async throws(KumoError) -> AsyncThrowingStream<ObjectEvent, any Error>
    func create(_ kind: Kind, project: String?, _ object: JSONValue, manager: String) async throws(KumoError) -> JSONValue
    /// JSON merge patch.
    func patch(_ kind: Kind, project: String?, name: String, _ patch: JSONValue, manager: String, force: Bool)
        async throws(KumoError) -> JSONValue
    /// Deletes an object; a bound Replica/Instance gracefully (its agent stops it first) unless `force`.
    func delete(_ kind: Kind, project: String?, name: String, manager: String, force: Bool) async throws(KumoError)
    /// Binds a replica or instance to a node: node + address + MAC (+ annotations, e.g. the placement
    /// explanation) in one write.
    func bind(
        _ kind: Kind, project: String, name: String, node: String, manager: String, annotations: [String: String]
    ) async throws(KumoError) -> JSONValue
    /// Every node's heartbeat lease record (`{node, holder, renewTime, durationSeconds}`).
    func leases() async throws(KumoError) -> [JSONValue]
    /// Records an Event about an object (best effort).
    func event(regarding kind: Kind, project: String?, name: String, reason: String, message: String, type: String, source: String) async
}

/// One change seen by a watch.
public struct ObjectEvent: Sendable {
    public enum EventType: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }
    public var type: EventType
    public var object: JSONValue
    public var revision: Int64

    public init(type: EventType, object: JSONValue, revision: Int64) {
        self.type = type
        self.object = object
        self.revision = revision
    }
}
