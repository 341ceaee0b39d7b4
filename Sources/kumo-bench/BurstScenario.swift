import Foundation
import KumoAPI
import KumoModel
import KumoSystem
import KumoTestbed
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// `burst`: a real `kumo server` (a child process) under abuse — a burst of `creates` replica creates (64 in
/// flight) while `slow` watchers stop reading, `flapping` watchers drop their connection mid-watch and come back,
/// and one good watcher follows every change. The server must stay responsive (healthz p99 ≤ 100 ms, beside the
/// same server's idle healthz p99 measured first), bounded in memory (the peak reported: a watcher that does not
/// read is cut off with a 410 once 16 MiB wait for it) and lose nothing (every create listed, each seen once by the
/// good watcher).
enum BurstScenario {
    static func run(creates: Int, slow: Int, flapping: Int) async throws -> BenchResult {
        var r = BenchResult(scenario: "burst")
        let dir = tempDir("kumo-bench-burst")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(dataDir: dir + "/server", logLevel: "warning")
        defer { if !server.daemon.hasExited { server.daemon.stop(kill9: true) } }
        try await server.waitReady(timeout: .seconds(60))
        guard let pid = (server.daemon as? ChildProcess)?.pid, let caPEM = server.caPEM else {
            throw KumoError(.internal, "burst: the server is not a child process with a CA")
        }
        let admin = server.admin
        _ = try await admin.create(["apiVersion": "kumo/v1", "kind": "Project", "metadata": ["name": "burst"]], kind: .project)
        let path = "/api/v1/projects/burst/replicas"
        let since = try await admin.send(.GET, path, query: [("limit", "1")]).decode(ObjectList.self).metadata.revision

        // the anchor: the same server's healthz while idle
        let probe = KumoClient(baseURL: server.url, token: server.adminToken, caPEM: caPEM)
        let idle = try await healthz(probe, for: .seconds(3))
        let rssBefore = ScaleRun.rss(pid: pid).current

        // the good watcher: every create seen once
        let seen = Mutex(Set<String>())
        let watcherFailure = Mutex<String?>(nil)
        let good = Task {
            do {
                for try await event in try await admin.watch(path, query: [("since", since)]) {
                    if event.type == "ERROR" {
                        watcherFailure.withLock { $0 = "the good watcher got \(event.object.jsonString)" }
                        return
                    }
                    if event.type == "ADDED", let name = event.object["metadata"]?["name"]?.stringValue {
                        let n = seen.withLock { $0.insert(name); return $0.count }
                        if n >= creates { return }
                    }
                }
            } catch {
                if !Task.isCancelled { watcherFailure.withLock { $0 = "the good watcher failed: \(error)" } }
            }
        }

        let tls = try tlsContext(caPEM)
        let target = (host: server.host, port: server.port, token: server.adminToken)
        let request = "GET \(path)?watch=true&since=\(since) HTTP/1.1\r\nHost: \(target.host)\r\nAuthorization: Bearer \(target.token)\r\n\r\n"
        var slowWatchers: [(any Channel, RawStreamHandler)] = []
        for _ in 0..<slow {
            let (channel, handler) = try await RawStreamHandler.open(target.host, target.port, tls: tls, request: request)
            try await handler.waitForHeaders()
            try await channel.setOption(ChannelOptions.autoRead, value: false).get()
            slowWatchers.append((channel, handler))
        }
        let flaps = SharedCounter()
        let flapFailures = SharedCounter()
        let stop = SharedFlag()
        let flappers = (0..<flapping).map { i in
            Task {
                var resume = since
                while !stop.isSet {
                    // read a little, then drop the connection without a word; come back after an informer's first
                    // backoff (200 ms), from the last revision seen, as an agent's cache does
                    do {
                        let (channel, handler) = try await RawStreamHandler.open(
                            target.host, target.port, tls: tls,
                            request: request.replacingOccurrences(of: "since=\(since) ", with: "since=\(resume) "),
                            closeAfter: 2_000 + i * 1_000)
                        try? await channel.closeFuture.get()
                        if let seen = handler.lastRevision { resume = String(seen - 1) }
                        flaps.add()
                    } catch {
                        flapFailures.add()
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }

        let peak = RSSSampler(pid: pid)
        let healthDuringTask = Task { try await healthz(probe, until: stop) }
        let start = ContinuousClock.now
        let (created, failures) = await burst(admin, creates: creates)
        let burstSeconds = (ContinuousClock.now - start).secondsValue
        // until every event is delivered to the good watcher (or 60 s)
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.withLock({ $0.count }) < created && watcherFailure.withLock({ $0 }) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        stop.set()
        let during = try await healthDuringTask.value
        for f in flappers { await f.value }
        good.cancel()
        let peakMiB = peak.stop()

        // the slow watchers read again: each either holds every event or was cut off with a 410
        var cut = 0
        for (channel, handler) in slowWatchers {
            try? await channel.setOption(ChannelOptions.autoRead, value: true).get()
            channel.read()
            if await handler.waitForGone(timeout: .seconds(10)) { cut += 1 }
            try? await channel.close()
        }
        let listed = try await countListed(admin, path)
        let hwm = ScaleRun.rss(pid: pid).peak
        await probe.shutdown()

        r.add("creates", Double(creates))
        r.add("created", Double(created))
        r.add("create_failures", Double(failures))
        r.add("creates_per_s", (Double(created) / max(burstSeconds, 0.001)).rounded())
        r.add("healthz_idle_p99_ms", idle.percentile(99))
        r.add("healthz_p50_ms", during.samples.percentile(50))
        r.add("healthz_p99_ms", during.samples.percentile(99))
        r.add("healthz_max_ms", during.samples.percentile(100))
        r.add("healthz_failures", Double(during.failures))
        r.add("slow_watchers", Double(slow))
        r.add("slow_watchers_cut", Double(cut))
        r.add("flapping_watchers", Double(flapping))
        r.add("flapping_reconnects", Double(flaps.current))
        r.add("flapping_connect_failures", Double(flapFailures.current))
        r.add("watcher_events_missed", Double(max(0, created - seen.withLock { $0.count })))
        r.add("listed_missing", Double(max(0, created - listed)))
        r.add("server_rss_before_mib", rssBefore.rounded())
        r.add("server_peak_rss_mib", max(peakMiB, hwm).rounded())
        r.target("healthz_p99_ms", 100, higherIsBetter: false)
        r.target("healthz_failures", 0, higherIsBetter: false)
        r.target("create_failures", 0, higherIsBetter: false)
        r.target("watcher_events_missed", 0, higherIsBetter: false)
        r.target("listed_missing", 0, higherIsBetter: false)
        if let failure = watcherFailure.withLock({ $0 }) { r.notes.append("FAILED: \(failure)") }
        if created < creates { r.notes.append("FAILED: only \(created) of \(creates) creates succeeded") }
        r.notes.append(
            "server: a real kumo server (child process, HTTPS); healthz over its own connection every 20 ms; anchor: "
                + "the same server's idle healthz p99")
        r.notes.append(
            "flapping watchers read 2–21 KB, drop the TCP connection under TLS, and come back 200 ms later from the last "
                + "revision they saw (as an agent's informer does)")
        r.notes.append(
            "slow watchers stop reading after their headers (the kernel buffers fill); the server cuts one off with a 410 "
                + "once 16 MiB wait for it, so memory stays bounded by slow watchers × 16 MiB, not by the events")
        return r
    }

    /// `creates` replica creates, 64 in flight, each with a 1 KiB annotation; (succeeded, failed).
    static func burst(_ admin: KumoClient, creates: Int) async -> (Int, Int) {
        let padding = String(repeating: "x", count: 1024)
        let ok = SharedCounter()
        let failed = SharedCounter()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<creates {
                if i >= 64 { await group.next() }
                group.addTask {
                    let replica: JSONValue = [
                        "apiVersion": "kumo/v1", "kind": "Replica",
                        "metadata": ["name": .string("b-\(i)"), "project": "burst", "annotations": ["bench.kumo.dev/pad": .string(padding)]],
                        "spec": ["image": "busybox:latest"],
                    ]
                    if (try? await admin.create(replica, kind: .replica, project: "burst")) != nil { ok.add() } else { failed.add() }
                }
            }
        }
        return (ok.current, failed.current)
    }

    /// healthz latencies over `duration`.
    static func healthz(_ client: KumoClient, for duration: Duration) async throws -> Samples {
        let stop = SharedFlag()
        let timer = Task {
            try? await Task.sleep(for: duration)
            stop.set()
        }
        defer { timer.cancel() }
        let result = try await healthz(client, until: stop)
        guard result.failures == 0 else { throw KumoError(.unavailable, "burst: the idle server failed \(result.failures) healthz requests") }
        return result.samples
    }

    /// healthz every 20 ms until `stop`: latencies and failures.
    static func healthz(_ client: KumoClient, until stop: SharedFlag) async throws -> (samples: Samples, failures: Int) {
        var samples = Samples()
        var failures = 0
        while !stop.isSet {
            let t = ContinuousClock.now
            do {
                _ = try await client.send(.GET, "/healthz")
                samples.add(milliseconds(ContinuousClock.now - t))
            } catch {
                failures += 1
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (samples, failures)
    }

    static func countListed(_ admin: KumoClient, _ path: String) async throws -> Int {
        var count = 0
        var next: String? = nil
        repeat {
            var query = [("limit", "5000")]
            if let next { query.append(("continue", next)) }
            let page = try await admin.send(.GET, path, query: query).decode(ObjectList.self)
            count += page.items.count { $0["metadata"]?["name"]?.stringValue?.hasPrefix("b-") == true }
            next = page.metadata.continue
        } while next != nil
        return count
    }

    static func tlsContext(_ caPEM: String) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        tls.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: tls)
    }
}

/// Samples a process's RSS every 200 ms; the peak seen.
final class RSSSampler: Sendable {
    final class Peak: Sendable {
        let value = Mutex(0.0)
    }

    private let peak = Peak()
    private let task: Task<Void, Never>

    init(pid: Int32) {
        let peak = self.peak
        task = Task {
            while !Task.isCancelled {
                let now = ScaleRun.rss(pid: pid).current
                peak.value.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func stop() -> Double {
        task.cancel()
        return peak.value.withLock { $0 }
    }
}

/// A raw HTTPS/1.1 stream for the benchmark's misbehaving watchers: counts what it reads, keeps the tail, and can
/// drop the connection after `closeAfter` bytes (a watcher that vanishes mid-watch).
final class RawStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let state = Mutex((bytes: 0, tail: [UInt8](), headers: false, closed: false, revision: Int64?.none))
    static let revisionMarker = Array(#""resourceVersion":""#.utf8)

    /// The highest `resourceVersion` read so far.
    var lastRevision: Int64? { state.withLock { $0.revision } }
    private let closeAfter: Int?
    let socketEnd = SocketEnd()

    init(closeAfter: Int?) { self.closeAfter = closeAfter }

    /// Sits next to the socket: `drop()` closes it from there, below TLS (no close_notify, no waiting for one).
    final class SocketEnd: ChannelDuplexHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

        /// On the event loop (from `channelRead`).
        func drop() { context?.close(promise: nil) }
    }

    static func open(_ host: String, _ port: Int, tls: NIOSSLContext, request: String, closeAfter: Int? = nil)
        async throws -> (any Channel, RawStreamHandler)
    {
        let handler = RawStreamHandler(closeAfter: closeAfter)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // the socket's end of the pipeline: closed from here, the connection drops without TLS's goodbye
                    try channel.pipeline.syncOperations.addHandler(handler.socketEnd)
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return (channel, handler)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let drop = state.withLock { s -> Bool in
            s.bytes += buffer.readableBytes
            let from = max(0, s.tail.count - Self.revisionMarker.count - 20)
            s.tail.append(contentsOf: buffer.readableBytesView)
            if !s.headers, s.tail.count >= 12 { s.headers = true }
            if let seen = Self.maxRevision(in: s.tail, from: from) { s.revision = max(s.revision ?? 0, seen) }
            if s.tail.count > 4096 { s.tail.removeFirst(s.tail.count - 4096) }
            return closeAfter.map { s.bytes >= $0 } ?? false
        }
        if drop { socketEnd.drop() }
    }

    /// The largest `"resourceVersion":"N"` in `bytes` at or after `from` (a number cut off at the end is skipped).
    static func maxRevision(in bytes: [UInt8], from: Int) -> Int64? {
        let m = revisionMarker
        var best: Int64? = nil
        var i = from
        while i + m.count <= bytes.count {
            if bytes[i] == m[0], bytes[i..<(i + m.count)].elementsEqual(m) {
                var j = i + m.count
                var value: Int64 = 0
                while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57 {
                    value = value &* 10 &+ Int64(bytes[j] - 48)
                    j += 1
                }
                if j < bytes.count, bytes[j] == UInt8(ascii: "\"") { best = max(best ?? 0, value) }
                i = j
            } else {
                i += 1
            }
        }
        return best
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLock { $0.closed = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func waitForHeaders() async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !state.withLock({ $0.headers }) {
            guard ContinuousClock.now < deadline else { throw KumoError(.unavailable, "burst: a watch answered nothing in 10 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Whether the stream ends with a `gone` error line: false once it closed without one, or nothing more
    /// arrived for a second (a watcher the server kept, that now holds every event), or after `timeout`.
    func waitForGone(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        let gone = Array(#""gone""#.utf8)
        var last = (bytes: -1, at: ContinuousClock.now)
        while ContinuousClock.now < deadline {
            let (tail, closed, bytes) = state.withLock { ($0.tail, $0.closed, $0.bytes) }
            if tail.count >= gone.count, (0...(tail.count - gone.count)).contains(where: { tail[$0..<($0 + gone.count)].elementsEqual(gone) }) {
                return true
            }
            if closed { return false }
            if bytes != last.bytes {
                last = (bytes, ContinuousClock.now)
            } else if ContinuousClock.now - last.at > .seconds(1) {
                return false
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
