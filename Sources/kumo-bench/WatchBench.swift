import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import NIOCore
import Synchronization

/// `watch`: N watchers on Nodes while `rate` writes/s arrive; latency from just before a write is sent to the
/// moment each watcher has read its event. Target p99 ≤ 100 ms with 1,000 watchers at 100 writes/s.
enum WatchBench {
    static let marker = Array(#""bench.kumo.dev/sent":""#.utf8)

    static func run(seconds: Double, watchers: Int, rate: Double) async throws -> BenchResult {
        let server = try await BenchServer.start()
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
        let latencies = SharedSamples()
        let delivered = SharedCounter()
        let watchTasks = (0..<watchers).map { _ in
            Task {
                var request = HTTPClientRequest(url: server.url + "/api/v1/nodes?watch=true&since=\(revision)")
                request.headers.add(name: "Authorization", value: "Bearer \(server.token)")
                guard let response = try? await http.execute(request, timeout: .hours(1)), response.status == .ok else {
                    return
                }
                connected.add()
                var local: [Double] = []
                var pending: [UInt8] = []
                do {
                    for try await chunk in response.body {
                        let now = DispatchTime.now().uptimeNanoseconds
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            if let sent = sentStamp(pending[..<nl]), now > sent {
                                local.append(Double(now - sent) / 1e6)
                            }
                            pending.removeSubrange(...nl)
                        }
                        if Task.isCancelled { break }
                    }
                } catch {}
                latencies.add(contentsOf: local)
                delivered.add(local.count)
            }
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
        // let the last events arrive, then close the watchers
        let expected = total * open
        let drainStart = ContinuousClock.now
        while delivered.current < expected && ContinuousClock.now - drainStart < .seconds(5) {
            try await Task.sleep(for: .milliseconds(100))
        }
        await server.server.shutdown()
        for t in watchTasks { t.cancel() }
        for t in watchTasks { await t.value }
        _ = try? await server.task.value
        try? FileManager.default.removeItem(atPath: server.dir)
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

    static func sentStamp(_ line: ArraySlice<UInt8>) -> UInt64? {
        guard line.count > marker.count else { return nil }
        var i = line.startIndex
        let end = line.endIndex - marker.count
        while i < end {
            if line[i] == marker[0] && line[i..<(i + marker.count)].elementsEqual(marker) {
                var j = i + marker.count
                var n: UInt64 = 0
                while j < line.endIndex, line[j] >= 48, line[j] <= 57 {
                    n = n &* 10 &+ UInt64(line[j] - 48)
                    j += 1
                }
                return n
            }
            i += 1
        }
        return nil
    }
}
