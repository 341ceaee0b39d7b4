import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import NIOCore
import NIOPosix
import Synchronization

/// `watch`: N watchers on Nodes while `rate` writes/s arrive; latency from just before a write is sent to the
/// moment each watcher has read its event. Target p99 ≤ 100 ms with 1,000 watchers at 100 writes/s.
enum WatchBench {
    static func run(seconds: Double, watchers: Int, rate: Double) async throws -> BenchResult {
        // plain HTTP: this scenario measures fan-out; what TLS costs per request is measured by `api`
        let server = try await BenchServer.start(tls: false)
        let http = BenchServer.httpClient(connections: watchers + 64)
        let client = KumoClient(baseURL: server.url, token: server.token, http: http)
        var result = BenchResult(scenario: "watch")
        let nodes = 50
        for i in 0..<nodes {
            let body = #"{"metadata":{"name":"w\#(i)"},"spec":{}}"#
            _ = try await client.send(.POST, "/api/v1/nodes", body: Array(body.utf8))
        }
        let revision = try await client.send(.GET, "/api/v1/nodes", query: [("limit", "1")]).json()["metadata"]?["revision"]?
            .stringValue ?? "0"
        let connected = SharedCounter()
        let url = URL(string: server.url)!
        var watches: [(any Channel, WatchLatencyHandler)] = []
        for _ in 0..<watchers {
            watches.append(
                try await RawWatchClient.open(
                    host: url.host ?? "127.0.0.1", port: url.port ?? 80, path: "/api/v1/nodes?watch=true&since=\(revision)",
                    token: server.token, onConnected: { connected.add() }))
        }
        // wait for every watcher to be registered
        let waitStart = ContinuousClock.now
        while connected.current < watchers && ContinuousClock.now - waitStart < .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let open = connected.current

        let total = Int(rate * seconds)
        let failures = SharedCounter()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { g in
            for i in 0..<total {
                try? await Task.sleep(until: start + .nanoseconds(Int64(Double(i) / rate * 1e9)), clock: .continuous)
                g.addTask {
                    let sent = DispatchTime.now().uptimeNanoseconds
                    let body = #"{"metadata":{"annotations":{"bench.kumo.dev/sent":"\#(sent)"}}}"#
                    do {
                        _ = try await client.send(
                            .PATCH, "/api/v1/nodes/w\(i % nodes)", body: Array(body.utf8), contentType: mergePatchContentType)
                    } catch {
                        failures.add()
                    }
                }
            }
        }
        // let the last events arrive, then collect and close the watchers
        let expected = total * open
        let latencies = SharedSamples()
        let drainStart = ContinuousClock.now
        while ContinuousClock.now - drainStart < .seconds(5) {
            try await Task.sleep(for: .milliseconds(200))
            var count = 0
            for (channel, handler) in watches.prefix(20) { count += await RawWatchClient.latencies(of: channel, handler).count }
            if count >= total * min(20, watches.count) { break }
        }
        for (channel, handler) in watches {
            latencies.add(contentsOf: await RawWatchClient.latencies(of: channel, handler))
            try? await channel.close()
        }
        await server.stop()
        try? await http.shutdown()

        let samples = latencies.snapshot
        result.add("watchers", Double(open))
        result.add("writes_per_s", rate)
        result.add("events_expected", Double(expected))
        result.add("events_delivered", Double(samples.values.count))
        result.add("missed_events", Double(max(0, expected - samples.values.count)))
        result.add("delivery_p50_ms", samples.percentile(50))
        result.add("delivery_p99_ms", samples.percentile(99))
        result.add("delivery_max_ms", samples.percentile(100))
        result.add("failed_requests", Double(failures.current))
        result.target("delivery_p99_ms", 100, higherIsBetter: false)
        result.target("missed_events", 0, higherIsBetter: false)
        result.target("watchers", Double(watchers), higherIsBetter: true)
        result.notes.append("latency: from just before the PATCH is sent to the watcher having read the event line")
        return result
    }
}
