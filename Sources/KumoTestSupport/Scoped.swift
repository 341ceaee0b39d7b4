import KumoModel

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
public func withTimeout<T: Sendable>(
    _ timeout: Duration = .seconds(10), waitingFor what: String? = nil, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw KumoError(.internal, "timed out after \(timeout)" + (what.map { " waiting for \($0)" } ?? ""))
        }
        return result
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
