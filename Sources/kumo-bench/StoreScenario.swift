import Foundation
import KumoModel
import KumoStore
import Logging

/// Store throughput: `writers` concurrent tasks each committing one 100-byte put at a time for `seconds`
/// (group commit turns them into few transactions), then 4 concurrent readers doing `get` of random keys for
/// `seconds`. Uses a fresh SQLite store in `directory`, removed afterwards.
enum StoreScenario {
    static let keyCount = 10_000
    static let valueSize = 100
    static let readers = 4

    static func run(
        directory: String, seconds: Double, writers: Int, synchronousFull: Bool, logger: Logger
    ) async throws -> [String: Double] {
        let path = directory + "/store-scenario-\(UUID().uuidString).sqlite"
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let options = SQLiteStore.Options(synchronous: synchronousFull ? .full : .normal)
        let store = try SQLiteStore(path: path, options: options, logger: logger)
        do {
            let result = try await measure(store, seconds: seconds, writers: max(1, writers))
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    private static func measure(_ store: SQLiteStore, seconds: Double, writers: Int) async throws -> [String: Double] {
        let value = [UInt8](repeating: 0x61, count: valueSize)
        // Preload in transactions of 500 puts.
        for start in stride(from: 0, to: keyCount, by: 500) {
            let operations = (start..<min(start + 500, keyCount)).map { KumoStore.Operation.put(key($0), value) }
            try await store.commit(Txn(operations: operations))
        }

        let clock = ContinuousClock()
        let duration = Duration.milliseconds(Int64(seconds * 1000))
        let writeStart = clock.now
        let writeDeadline = writeStart + duration
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<writers {
                group.addTask {
                    var latencies: [Double] = []
                    latencies.reserveCapacity(4096)
                    while clock.now < writeDeadline {
                        let begin = clock.now
                        try await store.commit(Txn(operations: [.put(key(Int.random(in: 0..<keyCount)), value)]))
                        latencies.append(milliseconds(clock.now - begin))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        let writeElapsed = inSeconds(clock.now - writeStart)

        let readStart = clock.now
        let readDeadline = readStart + duration
        let reads = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<readers {
                group.addTask {
                    var count = 0
                    while clock.now < readDeadline {
                        _ = try await store.get(key(Int.random(in: 0..<keyCount)))
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let readElapsed = inSeconds(clock.now - readStart)

        let sorted = latencies.sorted()
        return [
            "writes_per_s": Double(sorted.count) / max(writeElapsed, 0.001),
            "reads_per_s": Double(reads) / max(readElapsed, 0.001),
            "write_p50_ms": percentile(sorted, 0.50),
            "write_p99_ms": percentile(sorted, 0.99),
        ]
    }

    private static func key(_ index: Int) -> String { "bench/objects/\(index)" }

    private static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))
        return sorted[index]
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        inSeconds(duration) * 1000
    }

    private static func inSeconds(_ duration: Duration) -> Double {
        duration.secondsValue
    }
}
