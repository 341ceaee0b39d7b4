import Foundation
import KumoModel
import KumoStore
import Logging
import Testing

/// A temporary directory removed when the test body returns.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("kumo-store-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

let quietLogger = Logger(label: "kumo.store.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh store in a temporary directory, closed and removed afterwards.
func withStore<T>(
    options: SQLiteStore.Options = .init(), _ body: (SQLiteStore, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let path = directory + "/data/store.sqlite"
        let store = try SQLiteStore(path: path, options: options, logger: quietLogger)
        do {
            let result = try await body(store, path)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

/// Runs `body` (typically awaiting a stream) and fails with a timeout instead of hanging the suite.
func withTimeout<T: Sendable>(
    _ timeout: Duration = .seconds(10), _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw KumoError(.internal, "timed out after \(timeout)")
        }
        return result
    }
}

/// The next `count` events of `stream` (fails on timeout or early end).
func take(
    _ count: Int, from stream: AsyncThrowingStream<WatchEvent, any Error>, timeout: Duration = .seconds(10)
) async throws -> [WatchEvent] {
    try await withTimeout(timeout) {
        var events: [WatchEvent] = []
        var iterator = stream.makeAsyncIterator()
        while events.count < count, let event = try await iterator.next() {
            events.append(event)
        }
        return events
    }
}

/// Expects `body` to throw a `KumoError` with `code` (and `field`, when given).
func expectKumoError(
    _ code: KumoError.Code, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected KumoError(\(code)), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as KumoError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected KumoError(\(code)), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The next event of `stream` (iterators of one stream share its position), nil at its end.
func next(from stream: AsyncThrowingStream<WatchEvent, any Error>, timeout: Duration = .seconds(10)) async throws
    -> WatchEvent?
{
    try await withTimeout(timeout) {
        var iterator = stream.makeAsyncIterator()
        return try await iterator.next()
    }
}

/// Reads `stream` to its end and expects it to finish with a `KumoError` with `code`.
func expectStreamFails(
    _ stream: AsyncThrowingStream<WatchEvent, any Error>, with code: KumoError.Code, timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation
) async {
    await expectKumoError(code, sourceLocation: sourceLocation) {
        _ = try await withTimeout(timeout) { () async throws -> Bool in
            for try await _ in stream {}
            return true
        }
    }
}
