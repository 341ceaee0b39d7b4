import Foundation
import KumoModel
import KumoStore
import KumoTestSupport
import Logging
import Testing

let quietLogger = Logger(label: "kumo.store.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh store in a temporary directory, closed and removed afterwards.
func withStore<T>(
    options: SQLiteStore.Options = .init(), _ body: (SQLiteStore, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory("store-tests") { directory in
        let path = directory + "/data/store.sqlite"
        let store = try SQLiteStore(path: path, options: options, logger: quietLogger)
        return try await withCleanup {
            try await body(store, path)
        } cleanup: {
            await store.close()
        }
    }
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

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
