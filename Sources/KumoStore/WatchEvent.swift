/// One change of one key, as delivered by ``Store/watch(prefix:since:)``.
public struct WatchEvent: Sendable, Equatable {
    public enum EventType: Sendable {
        case put, delete
    }

    public var type: EventType
    /// For `.put`: the key's new state. For `.delete`: the key with the last value (and `createRevision`,
    /// `version`) it had before the deletion, and `modRevision` = the revision of the deletion.
    public var kv: KeyValue
    /// A put that created the key (it was absent before).
    public var isCreate: Bool

    /// The revision of this change.
    public var revision: Int64 { kv.modRevision }

    public init(type: EventType, kv: KeyValue, isCreate: Bool) {
        self.type = type
        self.kv = kv
        self.isCreate = isCreate
    }
}
