import KumoModel

/// Where an `ObjectCache` reads a kind from: a list, and a watch from a revision. The server's controllers read it
/// in process (`ControlPlane` refines this protocol); agents and other clients read it over HTTP (`KumoClientSource`
/// in KumoAPI).
///
/// What a cache relies on (etcd semantics):
/// - `list` returns every object of the kind and a revision such that `watch(since:)` that revision delivers
///   every change after it. Items may be newer than the revision (a list read page by page returns the first
///   page's revision and later pages as read later); the cache keeps the newer version and drops the replayed
///   events it already has.
/// - `watch(since: R)` delivers every change with a revision > R, in revision order, then live ones. An object
///   that changed several times is delivered once per change (several objects may share one revision: one
///   transaction). A DELETED event carries the object's last state and the revision of the deletion.
/// - History the source no longer holds is a `KumoError` with code `.gone` (HTTP 410): thrown by `watch` or by
///   the stream (a watcher that fell behind). The cache then lists again.
public protocol ObjectSource: Sendable {
    /// All objects of a kind (across projects) and the revision they were read at.
    func list(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64)
    /// Changes of a kind after `since`.
    func watch(_ kind: Kind, since: Int64) async throws(KumoError) -> AsyncThrowingStream<ObjectEvent, any Error>
}

/// One change seen by a watch.
public struct ObjectEvent: Sendable {
    public enum EventType: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }
    public var type: EventType
    /// The object as served (`metadata.resourceVersion` = `revision`); for a deletion, its last state.
    public var object: JSONValue
    /// The store revision of the change.
    public var revision: Int64

    public init(type: EventType, object: JSONValue, revision: Int64) {
        self.type = type
        self.object = object
        self.revision = revision
    }
}

extension ObjectEvent {
    /// The events of `upstream` as `ObjectEvent`s: `transform` maps each element (nil: skip it; a throw ends the
    /// stream with that error). Ending (cancelling) the returned stream cancels the reading of `upstream`.
    public static func stream<Element: Sendable>(
        from upstream: AsyncThrowingStream<Element, any Error>,
        _ transform: @escaping @Sendable (Element) throws -> ObjectEvent?
    ) -> AsyncThrowingStream<ObjectEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await element in upstream {
                        if let event = try transform(element) { continuation.yield(event) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
