/// A revisioned key/value store with etcd semantics: every change gets the next store-wide revision, writes are
/// atomic compare-and-swap transactions, and watches replay history from a revision and then follow live changes.
///
/// ``SQLiteStore`` is the embedded implementation; an etcd-backed one (Txn/Range/Watch/Compact) can implement the
/// same protocol without changing callers. All failures are `KumoError`s.
public protocol Store: Sendable {
    /// The revision of the last committed change.
    func currentRevision() async throws -> Int64

    /// The key's current state, or nil when it does not exist.
    func get(_ key: String) async throws -> KeyValue?

    /// Keys with `prefix`, in key (UTF-8 byte) order, strictly after `startAfter` if given, at most `limit`
    /// (nil = all), read at one consistent revision.
    func list(prefix: String, startAfter: String?, limit: Int?) async throws -> ListResult

    /// Atomic: all compares hold → all operations applied under ONE new revision, returned. A failed compare →
    /// throws `KumoError(.conflict, "...", field: <the key>)` and nothing is applied. Deleting an absent key is a
    /// no-op; a transaction that changes nothing allocates no revision and returns the current one.
    /// The call returns only once the change is durable (see ``SQLiteStore/Options/synchronous``).
    @discardableResult
    func commit(_ txn: Txn) async throws -> Int64

    /// Events for keys with `prefix` with revision > `since`, in revision order: first the history replayed from
    /// the log, then live events, with no gap and no duplicate. `since` < compacted revision → throws
    /// `KumoError(.gone, ...)`. A consumer that falls more than the buffer limit behind on live events gets its
    /// stream finished with `KumoError(.gone, "watch fell behind ...")`. Stopping the iteration (or cancelling its
    /// task) removes the watcher.
    func watch(prefix: String, since: Int64) async throws -> AsyncThrowingStream<WatchEvent, any Error>

    /// Forget log entries at or below `revision` (current state is kept). Later `watch(since: < revision)` → `.gone`.
    func compact(through revision: Int64) async throws

    func status() async throws -> StoreStatus

    /// Online consistent copy of the whole store into a new database file at `path` while writes continue.
    func backup(to path: String) async throws

    /// Finish pending writes, end every watch, release the database. Later calls fail with `.unavailable`.
    func close() async
}
