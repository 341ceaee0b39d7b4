import KumoModel
import KumoStore
import Synchronization

/// Renders each watch event once for all watchers: 1,000 watchers of one kind share one parse and one
/// serialization per event instead of doing 1,000.
public final class WatchRenderCache: Sendable {
    public struct Rendered: Sendable {
        /// The object as served (resourceVersion = the event's revision).
        public var object: JSONValue
        /// ADDED, MODIFIED or DELETED
        public var type: String
        /// `{"type":…,"object":…}\n`
        public var line: [UInt8]
    }

    private let entries = Mutex<[String: Rendered]>([:])
    private let capacity: Int

    public init(capacity: Int = 4096) { self.capacity = capacity }

    public func render(_ event: WatchEvent) throws(KumoError) -> Rendered {
        let cacheKey = "\(event.kv.modRevision)|\(event.kv.key)"
        if let hit = entries.withLock({ $0[cacheKey] }) { return hit }
        let stored = try ObjectCodec.decodeStored(event.kv.value, key: event.kv.key)
        let object = ObjectCodec.served(stored, revision: event.kv.modRevision)
        let type: String =
            switch event.type {
            case .delete: "DELETED"
            case .put: event.isCreate ? "ADDED" : "MODIFIED"
            }
        let rendered = Rendered(object: object, type: type, line: Self.line(type: type, object: object))
        entries.withLock { e in
            if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            e[cacheKey] = rendered
        }
        return rendered
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
