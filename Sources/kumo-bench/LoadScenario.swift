import Foundation

/// `kumo-bench load --url http://IP:PORT/PATH`: the HTTP client of the service scenarios, run inside a host's
/// network namespace; SIGINT ends it early and it still prints its figures.
enum LoadScenario {
    static func run(url: String, seconds: Double, connections: Int) -> BenchResult {
        var result = BenchResult(scenario: "load")
        guard let u = URL(string: url), let host = u.host else {
            result.notes.append("bad url \(url)")
            return result
        }
        let client = HTTPLoopClient(host: host, port: u.port ?? 80, path: u.path.isEmpty ? "/" : u.path)
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { client.stop() }
        source.resume()
        let started = Date()
        let r = client.run(connections: connections, seconds: seconds)
        let elapsed = Date().timeIntervalSince(started)
        var samples = Samples()
        samples.add(contentsOf: r.latenciesMs)
        result.add("completed_requests", Double(r.completed))
        result.add("failed_requests", Double(r.failed))
        result.add("resent_requests", Double(r.resent))
        result.add("requests_per_s", (Double(r.completed) / max(elapsed, 0.001)).rounded())
        result.add("p50_ms", samples.percentile(50))
        result.add("p99_ms", samples.percentile(99))
        result.add("distinct_replies", Double(r.bodies.count))
        if !r.errors.isEmpty {
            result.notes.append("errors: " + r.errors.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        return result
    }
}
