import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import NIOCore
import NIOSSL
import Synchronization

/// `api`: mutating latency at a fixed rate (target p99 ≤ 10 ms at 1,000 writes/s), then sustained throughput with
/// N concurrent clients (target ≥ 5,000 writes/s). Writes are Project creates and label merge patches over HTTP
/// (Projects: no controller reacts to them, and Nodes would each take a /24 from the cluster CIDR).
enum APIBench {
    /// Over TLS (what `kumo server` serves), then the same over plain HTTP for the ratio, then the cost of a new
    /// connection (TCP + TLS handshake vs TCP alone).
    static func run(seconds: Double, rate: Double, concurrency: Int, synchronousFull: Bool) async throws -> BenchResult {
        var result = try await runOnce(
            seconds: seconds, rate: rate, concurrency: concurrency, synchronousFull: synchronousFull, tls: true)
        let plain = try await runOnce(
            seconds: seconds, rate: rate, concurrency: concurrency, synchronousFull: synchronousFull, tls: false)
        for key in ["writes_per_s", "mutating_p99_ms", "failed_requests"] {
            if let v = plain.value(key) { result.add("plain_" + key, v) }
        }
        if let t = result.value("writes_per_s"), let p = plain.value("writes_per_s"), p > 0 {
            result.add("tls_throughput_ratio", (t / p * 100).rounded() / 100)
        }
        // handshake cost per new connection
        let server = try await BenchServer.start(synchronousFull: synchronousFull, tls: true)
        do {
            let url = URL(string: server.url)!
            let ctx = try tlsContext(caPEM: server.caPEM)
            var withTLS = Samples()
            withTLS.add(contentsOf: try await HandshakeProbe.run(host: url.host ?? "127.0.0.1", port: url.port ?? 443, count: 300, tls: ctx))
            var tcpOnly = Samples()
            tcpOnly.add(contentsOf: try await HandshakeProbe.run(host: url.host ?? "127.0.0.1", port: url.port ?? 443, count: 300, tls: nil))
            result.add("new_connection_tls_p50_ms", withTLS.percentile(50))
            result.add("new_connection_tls_p99_ms", withTLS.percentile(99))
            result.add("new_connection_tcp_p50_ms", tcpOnly.percentile(50))
            result.add("handshake_cost_ms", max(0, withTLS.percentile(50) - tcpOnly.percentile(50)))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        result.notes.append("figures without prefix are over TLS (the default); plain_* is the same load over plain HTTP")
        result.notes.append("clients keep connections alive: the handshake is paid once per connection, not per request")
        return result
    }

    static func tlsContext(caPEM: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array((caPEM ?? "").utf8)))
        tls.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: tls)
    }

    static func runOnce(seconds: Double, rate: Double, concurrency: Int, synchronousFull: Bool, tls: Bool) async throws
        -> BenchResult
    {
        let server = try await BenchServer.start(synchronousFull: synchronousFull, tls: tls)
        let http = BenchServer.httpClient(connections: max(concurrency, 256), caPEM: server.caPEM)
        let client = KumoClient(baseURL: server.url, token: server.token, http: http)
        var result = BenchResult(scenario: "api")
        do {
            // warm up: a pool of objects to update, connections opened
            let pool = 200
            try await withThrowingTaskGroup(of: Void.self) { g in
                for i in 0..<pool {
                    g.addTask { try await create(client, "pool-\(i)") }
                }
                try await g.waitForAll()
            }

            // Phase 1: open loop at `rate` writes/s, half creates and half updates.
            let total = Int(rate * seconds)
            let creates = SharedSamples()
            let updates = SharedSamples()
            let failures = SharedCounter()
            let start = ContinuousClock.now
            await withTaskGroup(of: Void.self) { g in
                for i in 0..<total {
                    let due = start + .nanoseconds(Int64(Double(i) / rate * 1e9))
                    try? await Task.sleep(until: due, clock: .continuous)
                    g.addTask {
                        let t0 = ContinuousClock.now
                        do {
                            if i % 2 == 0 {
                                try await create(client, "rate-\(i)")
                                creates.add(milliseconds(ContinuousClock.now - t0))
                            } else {
                                try await update(client, "pool-\(i % pool)", value: i)
                                updates.add(milliseconds(ContinuousClock.now - t0))
                            }
                        } catch {
                            failures.add()
                        }
                    }
                }
            }
            let achievedRate = Double(total) / milliseconds(ContinuousClock.now - start) * 1000
            let c = creates.snapshot
            let u = updates.snapshot
            var all = c
            all.add(contentsOf: u.values)
            result.add("rate_writes_per_s", achievedRate.rounded())
            result.add("create_p50_ms", c.percentile(50))
            result.add("create_p99_ms", c.percentile(99))
            result.add("update_p50_ms", u.percentile(50))
            result.add("update_p99_ms", u.percentile(99))
            result.add("mutating_p99_ms", all.percentile(99))

            // Phase 2: closed loop, `concurrency` keep-alive connections as fast as they go (a wrk-like raw client,
            // so the load generator takes little of the 2 cores).
            let url = URL(string: server.url)!
            let token = server.token
            let load = try await RawHTTPLoad.run(
                host: url.host ?? "127.0.0.1", port: url.port ?? 80, connections: concurrency, seconds: seconds,
                tls: tls ? try tlsContext(caPEM: server.caPEM) : nil
            ) { connection, sequence in
                let name = sequence % 2 == 0 ? "tp-\(connection)-\(sequence)" : "pool-\((connection * 7 + sequence) % pool)"
                let body =
                    sequence % 2 == 0
                    ? #"{"apiVersion":"kumo/v1","kind":"Project","metadata":{"name":"\#(name)","labels":{"bench":"api"}},"spec":{"description":"bench"}}"#
                    : #"{"metadata":{"labels":{"v":"\#(sequence)"}}}"#
                let head =
                    sequence % 2 == 0
                    ? "POST /api/v1/projects HTTP/1.1\r\nContent-Type: application/json\r\n"
                    : "PATCH /api/v1/projects/\(name) HTTP/1.1\r\nContent-Type: application/merge-patch+json\r\n"
                return ByteBuffer(
                    string: head + "Host: bench\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            }
            var tp = Samples()
            tp.add(contentsOf: load.latenciesMs)
            result.add("writes_per_s", (Double(load.completed) / seconds).rounded())
            result.add("throughput_p99_ms", tp.percentile(99))
            for _ in 0..<load.failed { failures.add() }
            result.add("failed_requests", Double(failures.current))
            result.add("concurrency", Double(concurrency))
            result.target("mutating_p99_ms", 10, higherIsBetter: false)
            result.target("writes_per_s", 5000, higherIsBetter: true)
            result.target("failed_requests", 0, higherIsBetter: false)
            result.notes.append("client and server share this machine's cores (in one process, over loopback)")
        } catch {
            try? await http.shutdown()
            await server.stop()
            throw error
        }
        try? await http.shutdown()
        await server.stop()
        return result
    }

    static func create(_ client: KumoClient, _ name: String) async throws {
        let body = #"{"apiVersion":"kumo/v1","kind":"Project","metadata":{"name":"\#(name)","labels":{"bench":"api"}},"spec":{"description":"bench"}}"#
        _ = try await client.send(.POST, "/api/v1/projects", body: Array(body.utf8))
    }

    static func update(_ client: KumoClient, _ name: String, value: Int) async throws {
        let body = #"{"metadata":{"labels":{"v":"\#(value)"}}}"#
        _ = try await client.send(.PATCH, "/api/v1/projects/\(name)", body: Array(body.utf8), contentType: mergePatchContentType)
    }
}
