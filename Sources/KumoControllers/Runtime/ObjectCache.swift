import KumoModel
import Logging
import Synchronization

/// An informer: the current objects of one kind, kept up to date by list + watch, with a callback per change.
/// Controllers read snapshots from it instead of asking the store on every reconcile.
public final class ObjectCache: Sendable {
    public let kind: Kind
    private let objects = Mutex<[String: JSONValue]>([:])
    private let synced = Mutex<Bool>(false)
    /// `key@resourceVersion` of objects that failed to decode and were reported (`ObjectCache+Decoding`).
    let reportedDecodeFailures = Mutex<Set<String>>([])

    public init(kind: Kind) { self.kind = kind }

    /// `project/name` or `name`.
    public static func key(_ object: JSONValue) -> String {
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        if let p = object["metadata"]?["project"]?.stringValue { return p + "/" + name }
        return name
    }

    public var all: [JSONValue] { objects.withLock { Array($0.values) } }

    /// Puts the result of a controller's own write into the cache at once, so its next decision sees it even
    /// before the watch delivers it (a newer version already here wins).
    public func remember(_ object: JSONValue) {
        let key = Self.key(object)
        objects.withLock { o in
            if let current = o[key], Self.revision(current) > Self.revision(object) { return }
            o[key] = object
        }
    }

    static func revision(_ object: JSONValue) -> Int64 {
        Int64(object["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0
    }
    public var count: Int { objects.withLock { $0.count } }
    public var isSynced: Bool { synced.withLock { $0 } }
    public func get(_ key: String) -> JSONValue? { objects.withLock { $0[key] } }

    /// Lists, then follows the watch until cancelled; re-lists when the watch ends (e.g. it fell behind).
    /// `onChange` is called for each change (and for each object after a list).
    public func run(_ plane: any ControlPlane, logger: Logger, onChange: @escaping @Sendable (ObjectEvent) async -> Void)
        async
    {
        while !Task.isCancelled {
            do {
                let (items, revision) = try await plane.list(kind)
                var fresh: [String: JSONValue] = [:]
                for item in items { fresh[Self.key(item)] = item }
                let removed = objects.withLock { current -> [JSONValue] in
                    let gone = current.filter { fresh[$0.key] == nil }.map(\.value)
                    current = fresh
                    return gone
                }
                synced.withLock { $0 = true }
                for item in items { await onChange(ObjectEvent(type: .added, object: item, revision: revision)) }
                for item in removed { await onChange(ObjectEvent(type: .deleted, object: item, revision: revision)) }
                let stream = try await plane.watch(kind, since: revision)
                for try await event in stream {
                    let key = Self.key(event.object)
                    let applied = objects.withLock { o -> Bool in
                        // a controller's own write may already be here (`remember`): never go back to an older one
                        if let current = o[key], Self.revision(current) > event.revision { return false }
                        if event.type == .deleted { o[key] = nil } else { o[key] = event.object }
                        return true
                    }
                    if applied { await onChange(event) }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("watch of \(kind.plural) ended; listing again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
