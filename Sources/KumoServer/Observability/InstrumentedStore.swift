import KumoModel
import KumoStore

/// A `Store` that times and counts commits, for `/metrics`. Everything else passes through.
public struct InstrumentedStore: Store {
    public let base: any Store
    public let metrics: ServerMetrics

    public init(_ base: any Store, metrics: ServerMetrics) {
        self.base = base
        self.metrics = metrics
    }

    public func currentRevision() async throws -> Int64 { try await base.currentRevision() }
    public func get(_ key: String) async throws -> KeyValue? { try await base.get(key) }
    public func list(prefix: String, startAfter: String?, limit: Int?) async throws -> ListResult {
        try await base.list(prefix: prefix, startAfter: startAfter, limit: limit)
    }

    public func commit(_ txn: Txn) async throws -> Int64 {
        let start = ContinuousClock.now
        do {
            if let delay = metrics.faultCommitDelay { try? await Task.sleep(for: delay) }
            let revision = try await base.commit(txn)
            let took = ContinuousClock.now - start
            metrics.storeCommitDuration.record(took)
            metrics.storeCommits.increment()
            metrics.recentCommits.record(took)
            return revision
        } catch {
            metrics.storeCommitFailures.increment()
            // a failed compare is a lost race the writer retries, not a store fault
            if (error as? KumoError)?.code != .conflict { metrics.recentCommits.record(ContinuousClock.now - start, failed: true) }
            throw error
        }
    }

    public func watch(prefix: String, since: Int64) async throws -> AsyncThrowingStream<WatchEvent, any Error> {
        try await base.watch(prefix: prefix, since: since)
    }
    public func compact(through revision: Int64) async throws { try await base.compact(through: revision) }
    public func status() async throws -> StoreStatus { try await base.status() }
    public func backup(to path: String) async throws { try await base.backup(to: path) }
    public func close() async { await base.close() }
}
