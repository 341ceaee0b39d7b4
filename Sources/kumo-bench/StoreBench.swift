enum StoreBench {
    static func run(seconds: Double, synchronousFull: Bool) async throws -> BenchResult { BenchResult(scenario: "store") }
}
