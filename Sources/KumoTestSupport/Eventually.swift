// KumoTestSupport: what the test suites, the testbed and the benchmarks share, so each is written once —
// waiting for a condition (`eventually`, `poll`), the API-object samples and client helpers, temporary
// directories, the errors a call throws, and `SimulatedAgents` (fake node agents over the API). It depends only on
// KumoModel and KumoAPI: nothing here starts a server or an agent.
import KumoModel

/// Waits until `check` holds: asks it every `interval` until `timeout` has passed, and then throws an error that
/// names `what` and carries the last error `check` threw (a check that throws counts as "not yet", so a server
/// that is still starting or an object that does not exist yet is waited for, not failed on).
///
///     try await eventually("3 ready replicas", timeout: .seconds(60)) { try await readyCount() == 3 }
///
/// `check` runs at least once, and once more at the deadline. Cancellation of the calling task ends the wait
/// (the sleep throws `CancellationError`).
public func eventually(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(200),
    _ check: () async throws -> Bool
) async throws {
    _ = try await poll(what, timeout: timeout, every: interval) { try await check() ? () : nil }
}

/// `eventually` for a value: asks `probe` every `interval` until it returns one, and returns it; after `timeout`,
/// throws as `eventually` does (naming `what`, with the last error `probe` threw).
///
///     let status = try await poll("the exit status of \(pid)") { reaper.exitStatus(of: pid) }
public func poll<T>(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(200),
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var lastError: (any Error)?
    while true {
        do {
            if let value = try await probe() { return value }
        } catch {
            lastError = error
        }
        let left = deadline - clock.now
        if left <= .zero { break }
        try await Task.sleep(for: min(interval, left))
    }
    throw KumoError(
        .internal,
        "timed out after \(timeout.shortDescription) waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}
