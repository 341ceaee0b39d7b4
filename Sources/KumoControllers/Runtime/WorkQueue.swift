import DequeModule
import Logging
import Synchronization

/// Keys waiting to be reconciled: a key queued again while waiting is handled once; a key being reconciled is
/// not handed to a second worker (queued again, it comes back after). Retries wait `delay` (exponential per key,
/// capped) so a failing object does not spin. Several workers may take keys at once (`process(workers:)`).
public final class WorkQueue: Sendable {
    private struct State {
        var queue: Deque<String> = []
        var queued: Set<String> = []
        var active: Set<String> = []
        var dirty: Set<String> = []
        var waiters: Deque<CheckedContinuation<String?, Never>> = []
        var failures: [String: Int] = [:]
        var closed = false
    }
    private let state = Mutex(State())

    public init() {}

    public var depth: Int { state.withLock { $0.queue.count } }

    public func add(_ key: String) {
        let resume = state.withLock { s -> CheckedContinuation<String?, Never>? in
            if s.closed { return nil }
            if s.active.contains(key) {
                s.dirty.insert(key)
                return nil
            }
            guard !s.queued.contains(key) else { return nil }
            if let waiter = s.waiters.popFirst() {
                s.active.insert(key)
                return waiter
            }
            s.queue.append(key)
            s.queued.insert(key)
            return nil
        }
        resume?.resume(returning: key)
    }

    /// The next key (nil once closed); the caller must call `done` after handling it.
    public func next() async -> String? {
        await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
            let ready = state.withLock { s -> String?? in
                if !s.queue.isEmpty {
                    let key = s.queue.removeFirst()
                    s.queued.remove(key)
                    s.active.insert(key)
                    return .some(key)
                }
                if s.closed { return .some(nil) }
                s.waiters.append(c)
                return .none
            }
            if case .some(let key) = ready { c.resume(returning: key) }
        }
    }

    /// Marks a key handled; `failed` schedules a retry with backoff.
    public func done(_ key: String, failed: Bool = false) {
        let (again, attempts) = state.withLock { s -> (Bool, Int) in
            s.active.remove(key)
            if failed { s.failures[key, default: 0] += 1 } else { s.failures[key] = nil }
            let dirty = s.dirty.remove(key) != nil
            return (dirty, s.failures[key] ?? 0)
        }
        if failed {
            let delay = min(5_000, 50 << min(attempts, 7))
            Task {
                try? await Task.sleep(for: .milliseconds(delay))
                self.add(key)
            }
        } else if again {
            add(key)
        }
    }

    /// Hands keys to `handle` until the queue is closed, `workers` at a time (each key to one worker at a time); a
    /// key whose handling throws is retried with backoff (and logged).
    public func process(logger: Logger, what: String, workers: Int, _ handle: @escaping @Sendable (String) async throws -> Void) async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<max(1, workers) {
                group.addTask { await self.process(logger: logger, what: what, handle) }
            }
        }
    }

    /// Hands keys to `handle` one at a time until the queue is closed; a key whose handling throws is retried
    /// with backoff (and logged).
    public func process(logger: Logger, what: String, _ handle: (String) async throws -> Void) async {
        while let key = await next() {
            var failed = false
            do {
                try await handle(key)
            } catch {
                failed = true
                logger.warning("\(what) failed", metadata: ["key": "\(key)", "error": "\(error)"])
            }
            done(key, failed: failed)
        }
    }

    public func close() {
        let waiters = state.withLock { s -> Deque<CheckedContinuation<String?, Never>> in
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.resume(returning: nil) }
    }
}
