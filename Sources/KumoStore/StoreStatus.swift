/// A snapshot of a store's state for `/debug/state` and metrics.
public struct StoreStatus: Sendable, Codable, Equatable {
    /// The revision of the last committed change.
    public var revision: Int64
    /// Log entries at or below this revision are forgotten; watching from an older revision is `.gone`.
    public var compactedRevision: Int64
    /// Open watch streams.
    public var watchers: Int
    /// Size of the database file (for SQLite; 0 where not applicable).
    public var databaseBytes: Int64
    /// Size of the write-ahead log file (for SQLite; 0 where not applicable).
    public var walBytes: Int64
    /// Commits accepted but not yet acknowledged (queued or in the transaction being written).
    public var pendingWrites: Int

    public init(
        revision: Int64, compactedRevision: Int64, watchers: Int, databaseBytes: Int64, walBytes: Int64,
        pendingWrites: Int
    ) {
        self.revision = revision
        self.compactedRevision = compactedRevision
        self.watchers = watchers
        self.databaseBytes = databaseBytes
        self.walBytes = walBytes
        self.pendingWrites = pendingWrites
    }
}
