import KumoModel
import Logging
import Synchronization

/// The registry of a store's watchers and the fan-out of committed events to them.
///
/// Fan-out costs one lock per watcher per committed batch plus a byte-prefix check per event; event values are
/// shared (copy-on-write `[UInt8]`), never copied or re-encoded. Measured: 1 000 watchers × 100 events/s
/// (100 000 deliveries/s, each consumed by its own task) cost about half of one core, mostly the Swift runtime
/// waking the consumer tasks; 1 000 × 1 000 events/s delivered 650 000 events/s.
final class WatchHub: Sendable {
    private struct State {
        var watchers: [Int: Watcher] = [:]
        /// `watchers.values`, rebuilt after a change, so a fan-out copies no dictionary.
        var snapshot: [Watcher]? = []
        var nextID = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    var count: Int {
        state.withLock { $0.watchers.count }
    }

    /// A new (not yet live) watcher, or nil when the hub is closed.
    func add(prefix: String, limit: Int) -> Watcher? {
        state.withLock { state -> Watcher? in
            if state.closed { return nil }
            state.nextID += 1
            let watcher = Watcher(id: state.nextID, prefix: prefix, limit: limit)
            state.watchers[watcher.id] = watcher
            state.snapshot = nil
            return watcher
        }
    }

    func remove(_ id: Int) {
        state.withLock { state in
            if state.watchers.removeValue(forKey: id) != nil { state.snapshot = nil }
        }
    }

    /// Hands the events of one committed batch to every watcher.
    func publish(_ events: [WatchEvent]) {
        guard !events.isEmpty else { return }
        let watchers = state.withLock { state -> [Watcher] in
            if let snapshot = state.snapshot { return snapshot }
            let snapshot = Array(state.watchers.values)
            state.snapshot = snapshot
            return snapshot
        }
        for watcher in watchers where watcher.deliver(events) == .fellBehind {
            remove(watcher.id)
            logger.warning(
                "watch fell behind; finished it with gone",
                metadata: ["watch.prefix": "\(watcher.prefix)", "watch.limit": "\(watcher.limit)"])
        }
    }

    /// Fails every watcher with `error` and refuses new ones.
    func close(with error: KumoError) {
        let watchers = state.withLock { state -> [Watcher] in
            state.closed = true
            let watchers = Array(state.watchers.values)
            state.watchers = [:]
            state.snapshot = []
            return watchers
        }
        for watcher in watchers { watcher.fail(error) }
    }
}
