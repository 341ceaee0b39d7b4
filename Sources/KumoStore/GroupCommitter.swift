import GRDB
import KumoModel
import Logging
import Synchronization

/// The single writer of a ``SQLiteStore``: queues `commit` calls and writes everything queued in one SQLite
/// transaction (up to `maxBatch`), in arrival order, then answers each caller — only after that transaction has
/// committed. While one batch is being written the next one accumulates, which is what turns many concurrent
/// writers into few (f)syncs.
final class GroupCommitter: Sendable {
    private struct Pending: Sendable {
        var txn: Txn
        var continuation: CheckedContinuation<Int64, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        /// A drain task is running (or about to).
        var draining = false
        /// Commits in the transaction being written.
        var inFlight = 0
        var closed = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let dbPool: DatabasePool
    private let maxBatch: Int
    private let logger: Logger
    /// Called after each committed transaction, before the callers are answered, in commit order.
    private let onCommit: @Sendable (BatchOutcome) -> Void

    init(dbPool: DatabasePool, maxBatch: Int, logger: Logger, onCommit: @escaping @Sendable (BatchOutcome) -> Void) {
        self.dbPool = dbPool
        self.maxBatch = maxBatch
        self.logger = logger
        self.onCommit = onCommit
    }

    /// Commits queued or being written.
    var pendingCount: Int {
        state.withLock { $0.queue.count + $0.inFlight }
    }

    func submit(_ txn: Txn) async throws -> Int64 {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int64, any Error>) in
            let startDrain: Bool? = state.withLock { state in
                if state.closed { return nil }
                state.queue.append(Pending(txn: txn, continuation: continuation))
                if state.draining { return false }
                state.draining = true
                return true
            }
            switch startDrain {
            case nil:
                continuation.resume(throwing: KumoError(.unavailable, "failed to commit: the store is closed"))
            case true?:
                Task { await self.drain() }
            case false?:
                break
            }
        }
    }

    /// Refuses new commits and returns once every accepted commit has been answered.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state in
                state.closed = true
                if !state.draining { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let (batch, waiters) = state.withLock { state -> ([Pending], [CheckedContinuation<Void, Never>]) in
                let count = min(maxBatch, state.queue.count)
                if count == 0 {
                    state.draining = false
                    state.inFlight = 0
                    let waiters = state.idleWaiters
                    state.idleWaiters = []
                    return ([], waiters)
                }
                let batch = Array(state.queue[0..<count])
                state.queue.removeFirst(count)
                state.inFlight = count
                return (batch, [])
            }
            if batch.isEmpty {
                for waiter in waiters { waiter.resume() }
                return
            }
            await write(batch)
        }
    }

    private func write(_ batch: [Pending]) async {
        let txns = batch.map(\.txn)
        let outcome: BatchOutcome
        do {
            outcome = try await dbPool.writeWithoutTransaction { db in
                var outcome: BatchOutcome?
                try db.inTransaction(.immediate) {
                    outcome = try BatchWriter.apply(txns, in: db)
                    return .commit
                }
                guard let outcome else { throw DatabaseError(message: "transaction produced no outcome") }
                return outcome
            }
        } catch {
            let failure = KumoError(
                .internal, "failed to commit: \(error)", cause: error)
            logger.error(
                "group commit failed; the whole batch was rolled back",
                metadata: ["batch": "\(batch.count)", "error": "\(error)"])
            for pending in batch { pending.continuation.resume(throwing: failure) }
            return
        }
        logger.trace(
            "committed batch",
            metadata: ["batch": "\(batch.count)", "revision": "\(outcome.revision)", "events": "\(outcome.events.count)"])
        onCommit(outcome)
        for (pending, result) in zip(batch, outcome.results) {
            pending.continuation.resume(with: result)
        }
        // Defensive: results and batch always have the same count.
        for pending in batch.dropFirst(outcome.results.count) {
            pending.continuation.resume(throwing: KumoError(.internal, "failed to commit: no result for transaction"))
        }
    }
}
