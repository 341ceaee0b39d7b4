import KumoModel
import Synchronization

/// Runs `body`, then `cleanup`, also when `body` throws: the `async` `defer` Swift does not have, for fixtures
/// whose teardown awaits (a server's shutdown, a namespace's removal, a store's close).
public func withCleanup<T>(_ body: () async throws -> T, cleanup: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}

/// Runs `body` and fails with a timeout instead of hanging the suite (awaiting a stream that never yields, say).
///
/// `body` runs in a task of its own, cancelled at the timeout and then left to end by itself: a task group would
/// wait for a child that ignores cancellation (`await someTask.value`), and hang exactly where this must not.
public func withTimeout<T: Sendable>(
    _ timeout: Duration = .seconds(10), waitingFor what: String? = nil, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = TimeoutRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation) {
                Task {
                    do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                }
            } timer: {
                Task {
                    try? await Task.sleep(for: timeout)
                    race.finish(.failure(KumoError(.internal, "timed out after \(timeout)" + (what.map { " waiting for \($0)" } ?? ""))))
                }
            }
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of body, timer and cancellation to finish answers `withTimeout`; the other tasks are cancelled.
private final class TimeoutRace<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?, tasks: [Task<Void, Never>])>(
        (nil, nil, []))

    func start(
        _ continuation: CheckedContinuation<T, any Error>, body: () -> Task<Void, Never>, timer: () -> Task<Void, Never>
    ) {
        let early = state.withLock { s -> Result<T, any Error>? in
            if let result = s.result { return result }  // cancelled before it started
            s.continuation = continuation
            return nil
        }
        if let early { return continuation.resume(with: early) }
        let tasks = [body(), timer()]
        let finished = state.withLock { s -> Bool in
            if s.continuation == nil { return true }
            s.tasks = tasks
            return false
        }
        if finished { for t in tasks { t.cancel() } }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { s -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard s.result == nil else { return (nil, []) }
            s.result = result
            defer {
                s.continuation = nil
                s.tasks = []
            }
            return (s.continuation, s.tasks)
        }
        for t in tasks { t.cancel() }
        continuation?.resume(with: result)
    }
}

/// A test fixture whose set-up and teardown await (namespaces, processes, directories): `run` makes it, runs the
/// test, and always removes it.
public protocol AsyncFixture {
    /// Makes what the fixture stands for; may fail half-way (`cleanup` runs all the same).
    func setUp() async throws
    /// Removes whatever exists of it, quietly: also after a set-up that failed half-way.
    func cleanup() async
}

extension AsyncFixture {
    /// Sets up, runs `body`, and cleans up, also when the set-up or `body` throws.
    public func run<T>(_ body: (Self) async throws -> T) async throws -> T {
        try await withCleanup {
            try await setUp()
            return try await body(self)
        } cleanup: {
            await cleanup()
        }
    }
}
