/// One page of a prefix listing.
public struct ListResult: Sendable {
    /// The matching keys in key (UTF-8 byte) order.
    public var items: [KeyValue]
    /// The store revision the list was read at: every item reflects exactly the state at this revision, so a
    /// `watch(prefix:since: revision)` started from it misses nothing and repeats nothing.
    public var revision: Int64
    /// More keys match after the last item (continue with `startAfter: items.last?.key`).
    public var more: Bool

    public init(items: [KeyValue], revision: Int64, more: Bool) {
        self.items = items
        self.revision = revision
        self.more = more
    }
}
