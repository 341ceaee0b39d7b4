/// One key with its current value and revision bookkeeping, as read from a ``Store``.
///
/// Keys are compared and ordered by their UTF-8 bytes (like etcd), not by Swift's Unicode-aware `String` ordering.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    /// The revision of the put that created the key (the current incarnation: a key deleted and put again gets a new one).
    public var createRevision: Int64
    /// The revision of the last put of this key (or, in a `.delete` ``WatchEvent``, the revision of the deletion).
    public var modRevision: Int64
    /// Number of puts since creation: 1 on create, +1 on every later put.
    public var version: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
    }
}
