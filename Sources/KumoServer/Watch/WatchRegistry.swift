import ServiceLifecycle
import Synchronization

/// The open watch streams, so a graceful shutdown can end them (otherwise the HTTP server would wait for them
/// forever).
public final class WatchRegistry: Sendable {
    private let streams = Mutex<(next: Int, stops: [Int: @Sendable () -> Void])>((0, [:]))

    public init() {}

    func add(_ stop: @escaping @Sendable () -> Void) -> Int {
        streams.withLock { s in
            s.next += 1
            s.stops[s.next] = stop
            return s.next
        }
    }

    func remove(_ id: Int) {
        _ = streams.withLock { $0.stops.removeValue(forKey: id) }
    }

    public var count: Int { streams.withLock { $0.stops.count } }

    /// Ends every open stream.
    public func stopAll() {
        let stops = streams.withLock { s in
            let all = Array(s.stops.values)
            s.stops.removeAll()
            return all
        }
        for stop in stops { stop() }
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
struct WatchCloser: Service {
    let registry: WatchRegistry

    func run() async throws {
        try? await gracefulShutdown()
        registry.stopAll()
    }
}
