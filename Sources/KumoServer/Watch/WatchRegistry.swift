import KumoModel
import ServiceLifecycle
import Synchronization

/// The open watch streams, so a graceful shutdown can end them (otherwise the HTTP server would wait for them
/// forever).
public final class WatchRegistry: Sendable {
    /// Stop closures get the reason to tell the client (nil: shutdown, just end). `stopped`: `stopAll` has run, so a
    /// stream that opens later (a client reconnecting during shutdown) is ended at once instead of holding the
    /// shutdown open forever.
    private let streams = Mutex<(next: Int, stopped: Bool, stops: [Int: (owner: String?, stop: @Sendable (KumoError?) -> Void)])>(
        (0, false, [:]))

    public init() {}

    func add(owner: String? = nil, _ stop: @escaping @Sendable (KumoError?) -> Void) -> Int {
        let (id, late) = streams.withLock { s -> (Int, Bool) in
            s.next += 1
            if s.stopped { return (s.next, true) }
            s.stops[s.next] = (owner, stop)
            return (s.next, false)
        }
        if late { stop(nil) }
        return id
    }

    /// Ends the streams opened by `owner` (an identity whose token was revoked), telling them why.
    @discardableResult
    public func stop(owner: String, reason: KumoError) -> Int {
        let stops = streams.withLock { s in
            let ids = s.stops.filter { $0.value.owner == owner }.map(\.key)
            return ids.compactMap { s.stops.removeValue(forKey: $0)?.stop }
        }
        for stop in stops { stop(reason) }
        return stops.count
    }

    func remove(_ id: Int) {
        _ = streams.withLock { $0.stops.removeValue(forKey: id) }
    }

    public var count: Int { streams.withLock { $0.stops.count } }

    /// Ends the streams open now; streams opened later are served as usual (their clients reconnect). Returns how
    /// many were ended.
    @discardableResult
    public func endOpen() -> Int {
        let stops = streams.withLock { s in
            defer { s.stops.removeAll() }
            return s.stops.values.map(\.stop)
        }
        for stop in stops { stop(nil) }
        return stops.count
    }

    /// Ends every open stream, and every stream opened from now on (shutdown).
    public func stopAll() {
        // from here `add` ends a new stream itself; the ones registered before are endOpen's
        streams.withLock { $0.stopped = true }
        endOpen()
    }
}

/// Lets another task cancel the task running a watch stream, only while that stream is still running.
///
/// The writer of an HTTP response body cannot leave its task, so the stream is read right there (no extra task
/// and hop per event); to end it on shutdown we cancel that task. `finish()` is called before the task leaves
/// the stream, under the same lock `cancel()` takes, so a cancel never reaches a task that moved on.
final class WatchTaskHandle: @unchecked Sendable {
    private let lock = Mutex<Bool>(false)  // finished
    private let task: UnsafeCurrentTask?

    init(_ task: UnsafeCurrentTask?) { self.task = task }

    func cancel() {
        lock.withLock { finished in
            if !finished { task?.cancel() }
        }
    }

    func finish() { lock.withLock { $0 = true } }
}

/// Listed after the HTTP server in the ServiceGroup, so it is shut down first: ends the watch streams, then the
/// server can finish its in-flight requests and stop.
struct WatchCloser: ServiceLifecycle.Service {
    let registry: WatchRegistry

    func run() async throws {
        try? await gracefulShutdown()
        registry.stopAll()
    }
}
