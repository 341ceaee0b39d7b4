import Foundation
import KumoTestSupport
import Logging

/// `store`: the store alone (no HTTP): writes/s and reads/s at several concurrencies, NORMAL (default) or FULL.
enum StoreBench {
    static func run(seconds: Double, synchronousFull: Bool) async throws -> BenchResult {
        var result = BenchResult(scenario: "store")
        var logger = Logger(label: "kumo.bench.store")
        logger.logLevel = .error
        var best = 0.0
        for writers in [1, 16, 256] {
            let dir = temporaryPath("bench-store")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let r = try await StoreScenario.run(
                directory: dir, seconds: seconds / 3, writers: writers, synchronousFull: synchronousFull, logger: logger)
            let w = (r["writes_per_s"] ?? 0).rounded()
            best = max(best, w)
            result.add("writes_per_s_c\(writers)", w)
            result.add("write_p99_ms_c\(writers)", r["write_p99_ms"] ?? .nan)
            if writers == 256 { result.add("reads_per_s", (r["reads_per_s"] ?? 0).rounded()) }
        }
        result.add("writes_per_s", best)
        result.add("synchronous_full", synchronousFull ? 1 : 0)
        result.target("writes_per_s", 5000, higherIsBetter: true)
        return result
    }
}
