import ArgumentParser
import Foundation

/// `kumo-bench <scenario>`: runs one benchmark scenario (build with -c release) and prints a table; with --json
/// the last line is one JSON object: scenario, figures with units in their keys, target_* and met.
@main
struct KumoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo-bench",
        abstract: "Kumo benchmark scenarios (run a release build).",
        discussion: """
            Scenarios:
              store  store writes/s and reads/s (SQLite, group commit), by concurrency
              api    API create/update latency p50/p99 at 1,000 writes/s, and sustained writes/s over HTTP
              watch  1,000 watchers on one kind while 100 writes/s arrive: delivery latency p50/p99
            """)

    @Argument(help: "store, api or watch.")
    var scenario: String

    @Flag(help: "Print the result as one JSON object on the last line.")
    var json = false

    @Option(help: "Seconds per measured phase.")
    var seconds: Double = 10

    @Option(help: "Concurrent clients for throughput phases.")
    var concurrency: Int = 64

    @Option(help: "Watchers (watch scenario).")
    var watchers: Int = 1000

    @Option(help: "Writes per second for the latency phase (api) or the event source (watch).")
    var rate: Double?

    @Flag(help: "Run the store with synchronous=FULL (fsync per commit).")
    var synchronousFull = false

    func run() async throws {
        raiseFileLimit()
        let result: BenchResult
        switch scenario {
        case "store":
            result = try await StoreBench.run(seconds: seconds, synchronousFull: synchronousFull)
        case "api":
            result = try await APIBench.run(
                seconds: seconds, rate: rate ?? 1000, concurrency: concurrency, synchronousFull: synchronousFull)
        case "watch":
            result = try await WatchBench.run(seconds: seconds, watchers: watchers, rate: rate ?? 100)
        default:
            throw ValidationError("unknown scenario \"\(scenario)\": expected store, api or watch")
        }
        result.print(json: json)
        if !result.met { throw ExitCode(3) }
    }

    func raiseFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
