import KumoModel
import Synchronization

/// The live side of one watch: a bounded buffer of events fanned out by the store after each committed batch,
/// and at most one consumer waiting for the next one.
///
/// A watcher buffers nothing until ``goLive()`` (while its cursor replays history from the log); after that,
/// more than `limit` buffered events fail it with `.gone` and drop the buffer.
final class Watcher: Sendable {
    enum Delivery {
        case ok
        /// The buffer overflowed: the watcher failed with `.gone` and should be removed from the hub.
        case fellBehind
    }

    private struct State {
        var live = false
        var buffer: [WatchEvent] = []
        var head = 0
        var waiter: CheckedContinuation<WatchEvent?, any Error>?
        var failure: KumoError?
        /// Ended without error (consumer cancelled or stopped).
        var ended = false

        var buffered: Int { buffer.count - head }

        mutating func pop() -> WatchEvent? {
            guard head < buffer.count else { return nil }
            let event = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    let id: Int
    let prefix: String
    let limit: Int
    private let state = Mutex(State())

    init(id: Int, prefix: String, limit: Int) {
        self.id = id
        self.prefix = prefix
        self.limit = limit
    }

    /// Start buffering live events.
    func goLive() {
        state.withLock { $0.live = true }
    }

    /// Buffers the events of one committed batch that match the prefix (events are in revision order).
    func deliver(_ events: [WatchEvent]) -> Delivery {
        let (resume, event, delivery) = state.withLock {
            state -> (CheckedContinuation<WatchEvent?, any Error>?, WatchEvent?, Delivery) in
            guard state.live, state.failure == nil, !state.ended else { return (nil, nil, .ok) }
            for event in events where KeyRange.matches(event.kv.key, prefix: prefix) {
                state.buffer.append(event)
            }
            if state.buffered > limit {
                state.failure = KumoError(
                    .gone, "watch fell behind: more than \(limit) events not consumed; list again and re-watch")
                state.buffer = []
                state.head = 0
                let waiter = state.waiter
                state.waiter = nil
                return (waiter, nil, .fellBehind)
            }
            if let waiter = state.waiter, let event = state.pop() {
                state.waiter = nil
                return (waiter, event, .ok)
            }
            return (nil, nil, .ok)
        }
        if let resume {
            if let event {
                resume.resume(returning: event)
            } else {
                resume.resume(throwing: KumoError(.gone, "watch fell behind"))
            }
        }
        return delivery
    }

    /// The next live event; nil when the watch ended (cancelled); throws the failure (`.gone`, `.unavailable`).
    func next() async throws -> WatchEvent? {
        enum Immediate {
            case event(WatchEvent?)
            case failure(KumoError)
            case wait
        }
        let immediate = state.withLock { state -> Immediate in
            if let failure = state.failure { return .failure(failure) }
            if let event = state.pop() { return .event(event) }
            if state.ended { return .event(nil) }
            return .wait
        }
        switch immediate {
        case .event(let event): return event
        case .failure(let failure): throw failure
        case .wait: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WatchEvent?, any Error>) in
                let result = state.withLock { state -> Result<WatchEvent?, KumoError>? in
                    if let failure = state.failure { return .failure(failure) }
                    if let event = state.pop() { return .success(event) }
                    if state.ended { return .success(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            self.end()
        }
    }

    /// Ends the watch without error: a waiting consumer gets nil.
    func end() {
        let waiter = state.withLock { state -> CheckedContinuation<WatchEvent?, any Error>? in
            state.ended = true
            state.buffer = []
            state.head = 0
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Fails the watch: a waiting consumer (and every later `next`) gets `error`.
    func fail(_ error: KumoError) {
        let waiter = state.withLock { state -> CheckedContinuation<WatchEvent?, any Error>? in
            if state.failure == nil && !state.ended { state.failure = error }
            state.buffer = []
            state.head = 0
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(throwing: error)
    }
}
