import KumoModel
import KumoStore
import NIOCore
import Synchronization

/// Renders each watch event once for all watchers: 1,000 watchers of one kind share one parse, one serialization
/// and one buffer per event instead of doing 1,000.
public final class WatchRenderCache: Sendable {
    public struct Rendered: Sendable {
        public var key: String
        /// The object as served (resourceVersion = the event's revision).
        public var object: JSONValue
        /// ADDED, MODIFIED or DELETED
        public var type: String
        /// `{"object":…,"type":…}\n`, shared (copy-on-write) by every watcher that sends it.
        public var line: ByteBuffer
    }

    /// Rendered events by revision (a revision holds few events of one watch prefix).
    private let entries = Mutex<[Int64: [Rendered]]>([:])
    private let capacity: Int
    /// Stored form → served form (opens Secret values), before an event is rendered.
    private let open: @Sendable (JSONValue) -> JSONValue

    public init(capacity: Int = 4096, open: @escaping @Sendable (JSONValue) -> JSONValue = { $0 }) {
        self.capacity = capacity
        self.open = open
    }

    public func render(_ event: WatchEvent) throws(KumoError) -> Rendered {
        let revision = event.kv.modRevision
        if let hit = entries.withLock({ $0[revision]?.first { $0.key == event.kv.key } }) { return hit }
        let rendered = try renderUncached(event)
        entries.withLock { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[revision, default: []].append(rendered)
        }
        return rendered
    }

    /// Renders without looking in or filling the cache.
    public func renderUncached(_ event: WatchEvent) throws(KumoError) -> Rendered {
        let revision = event.kv.modRevision
        let stored = try ObjectCodec.decodeStored(event.kv.value, key: event.kv.key)
        let object = ObjectCodec.served(open(stored), revision: revision)
        let type: String =
            switch event.type {
            case .delete: "DELETED"
            case .put: event.isCreate ? "ADDED" : "MODIFIED"
            }
        return Rendered(
            key: event.kv.key, object: object, type: type, line: ByteBuffer(bytes: Self.line(type: type, object: object)))
    }

    public static func line(type: String, object: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: Array("{\"object\":".utf8))
        object.serialized(into: &out)
        out.append(contentsOf: Array(",\"type\":\"\(type)\"}\n".utf8))
        return out
    }
}
