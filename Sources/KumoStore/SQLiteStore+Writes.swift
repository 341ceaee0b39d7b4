import KumoModel

extension SQLiteStore {
    /// Queued for the group-committing writer; answered once the SQLite transaction holding it has committed.
    /// A caller's cancellation does not withdraw a queued commit.
    @discardableResult
    public func commit(_ txn: Txn) async throws -> Int64 {
        try txn.validate()
        return try await committer.submit(txn)
    }

    /// Replay is read from the log page by page as the consumer pulls (so a long history never makes a watch
    /// "fall behind"); live events are buffered per watcher up to ``Options/watchBufferLimit``.
    /// A negative `since` is taken as 0.
    public func watch(prefix: String, since: Int64) async throws -> AsyncThrowingStream<WatchEvent, any Error> {
        try ensureOpen("watch \(prefix)")
        let since = max(0, since)
        let reader = LogReader(dbPool: dbPool, prefix: prefix, pageSize: options.replayPageSize)
        let first: LogReader.Page
        do {
            first = try await reader.page(after: since)
        } catch {
            throw storeError("watch \(prefix)", error)
        }
        guard let watcher = hub.add(prefix: prefix, limit: options.watchBufferLimit) else {
            throw KumoError(.unavailable, "failed to watch \(prefix): the store is closed")
        }
        let cursor = WatchCursor(reader: reader, watcher: watcher, hub: hub, since: since, first: first)
        return AsyncThrowingStream(unfolding: { try await cursor.next() })
    }
}
