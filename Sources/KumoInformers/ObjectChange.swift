import KumoModel

/// One change of a cache's contents, as its handlers and change streams see it: the object before and after.
/// Exactly one of `old` and `new` may be nil: `old` nil for an object the cache did not have (added), `new` nil for
/// one it no longer has (deleted).
public struct ObjectChange<Spec: ResourceSpec>: Sendable, Equatable {
    public enum ChangeType: String, Sendable {
        case added, modified, deleted
    }

    /// `project/name` or `name` (`CacheKey`).
    public var key: String
    /// The cached version before the change (which may be a controller's own write, `ObjectCache.remember`).
    public var old: Object<Spec>?
    public var new: Object<Spec>?
    /// The revision of the change: the event's, or the list's for a change found by a relist.
    public var revision: Int64

    public init(key: String, old: Object<Spec>?, new: Object<Spec>?, revision: Int64) {
        precondition(old != nil || new != nil, "a change has an object before or after it")
        self.key = key
        self.old = old
        self.new = new
        self.revision = revision
    }

    public var type: ChangeType { old == nil ? .added : new == nil ? .deleted : .modified }

    /// The object after the change, or its last version for a deletion.
    public var object: Object<Spec> { new ?? old! }
}

/// Cache keys: `project/name` for project-scoped objects, `name` for cluster-scoped ones.
public enum CacheKey {
    public static func make(project: String?, name: String) -> String {
        guard let project else { return name }
        return project + "/" + name
    }

    public static func of(_ metadata: ObjectMeta) -> String { make(project: metadata.project, name: metadata.name) }

    /// The key of an object as JSON (also one that does not decode, or a deletion's last state).
    public static func of(_ object: JSONValue) -> String {
        make(
            project: object["metadata"]?["project"]?.stringValue, name: object["metadata"]?["name"]?.stringValue ?? "")
    }
}

extension Object {
    /// This object's key in an `ObjectCache`.
    public var cacheKey: String { CacheKey.of(metadata) }

    /// `metadata.resourceVersion` as a revision (0 when absent: an object not yet written).
    public var resourceRevision: Int64 { metadata.resourceVersion.flatMap { Int64($0) } ?? 0 }
}
