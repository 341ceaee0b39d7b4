import Foundation
import KumoAPI
import KumoModel
import KumoSystem

/// The scale run shared by `kumo-bench scale` and the scale smoke test: a real `kumo server` (a child process, so
/// its memory is its own), a `SimulatedFleet` of N fake agents, workloads totalling M replicas. Every phase checks
/// that its work was done and throws, saying what is missing, when it was not.
public struct ScaleRun: Sendable {
    public struct Options: Sendable {
        public var nodes: Int
        public var replicas: Int
        /// Replicas per workload.
        public var perWorkload = 100
        /// Services, each selecting one workload (so `services × perWorkload` replicas are endpoints).
        public var services = 5
        /// How long each wait may take before the run fails.
        public var timeout: Duration = .seconds(600)
        /// Extra API writes per second during the API-latency phase, and how long it lasts.
        public var apiRate = 1000.0
        public var apiSeconds = 10.0
        public var measureColdStart = true
        /// `--node-grace-seconds`: how long a node may miss heartbeats before it is NotReady and its replicas are
        /// evicted (the fleet renews every 2 s for 6 s).
        public var graceSeconds = 6
        /// The fake agents watch all Nodes and all Services, as real agents do (off: to see what that costs).
        public var watchNodes = true
        public var watchServices = true

        public init(nodes: Int, replicas: Int) {
            self.nodes = nodes
            self.replicas = replicas
        }
    }

    public struct Figures: Sendable {
        public var registeredSeconds = 0.0
        public var boundPerSecond = 0.0
        public var runningPerSecond = 0.0
        public var boundSeconds = 0.0
        public var runningSeconds = 0.0
        public var heartbeatP99Ms = 0.0
        public var heartbeats = 0
        public var apiP99Ms = 0.0
        public var apiWrites = 0
        public var apiFailures = 0
        public var nodeFanoutP99Ms = 0.0
        public var fanoutDelivered = 0
        /// Replicas evicted before the node-loss phase: nodes whose heartbeats arrived too late (0 when healthy).
        public var evictionsBeforeLoss = 0
        public var nodeLossReplacedSeconds = 0.0
        public var nodeLossReplicas = 0
        public var serverRSSMiB = 0.0
        public var serverPeakRSSMiB = 0.0
        /// The server's open file descriptors with every agent connected (its connections, store, logs).
        public var serverOpenFiles = 0
        public var storeMiB = 0.0
        public var coldStartSeconds = 0.0
        /// The restarted server answered and every cache listed (else `coldStartFailure` says what did not).
        public var coldStarted = false
        public var coldStartFailure: String?
        public var fleet = SimulatedFleet.Stats()
    }

    public let options: Options
    public let dir: String
    public init(options: Options, dir: String) {
        self.options = options
        self.dir = dir
    }

    /// The server's flags for a run of this size: a pod network with room for every node's subnet (numbers only:
    /// nothing sends traffic to a simulated replica) and a grace period short enough to see a node loss.
    public func serverArguments() -> [String] {
        [
            "--cluster-cidr", "10.128.0.0/10", "--node-subnet-size", "26", "--node-grace-seconds", String(options.graceSeconds),
            "--doctor-interval-seconds", "30",
        ]
    }

    public func run(log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Figures {
        var f = Figures()
        let server = try ServerProcess(
            dataDir: dir + "/server", logLevel: "warning", extraArguments: serverArguments())
        defer { if !server.daemon.hasExited { server.daemon.stop(kill9: true) } }
        try await server.waitReady(timeout: .seconds(60))
        let admin = server.admin
        let join = try await admin.send(.POST, "/api/v1/tokens", body: encodeJSON(TokenRequest(name: "scale", role: .join)))
            .decode(TokenInfo.self)
        var fleetOptions = SimulatedFleet.Options(nodes: options.nodes)
        fleetOptions.prefix = "sim"
        fleetOptions.watchNodes = options.watchNodes
        fleetOptions.watchServices = options.watchServices
        let fleet = try SimulatedFleet(server: server.url, caPEM: server.caPEM, options: fleetOptions, logger: .init(label: "kumo.fleet"))
        do {
            f = try await phases(server: server, admin: admin, fleet: fleet, joinToken: join.token ?? "", log: log)
        } catch {
            await fleet.shutdown()
            throw error
        }
        await fleet.shutdown()
        return f
    }

    func phases(server: ServerProcess, admin: KumoClient, fleet: SimulatedFleet, joinToken: String, log: @Sendable (String) -> Void) async throws -> Figures {
        var f = Figures()
        let n = options.nodes
        // 1. every node joins, registers, heartbeats, and the node lifecycle controller marks it Ready
        var t0 = ContinuousClock.now
        try await fleet.start(joinToken: joinToken)
        try await wait("\(n) nodes Ready", admin) { s in (s.readyNodes, n) }
        f.registeredSeconds = seconds(since: t0)
        log("\(n) nodes registered and Ready in \(format(f.registeredSeconds)) s")

        // 2. workloads totalling M replicas: created → all bound → all reported Running
        _ = try await admin.create(["apiVersion": "kumo/v1", "kind": "Project", "metadata": ["name": "scale"]], kind: .project)
        let workloads = max(1, (options.replicas + options.perWorkload - 1) / options.perWorkload)
        for s in 0..<max(1, options.services) {
            let service: JSONValue = [
                "apiVersion": "kumo/v1", "kind": "Service", "metadata": ["name": .string("svc-\(s)"), "project": "scale"],
                "spec": ["selector": ["svc": .string("s\(s)")], "ports": [["port": 80, "targetPort": 8080]]],
            ]
            _ = try await admin.create(service, kind: .service, project: "scale")
        }
        let placedBefore = try await ServerState.read(admin).placed
        t0 = ContinuousClock.now
        var remaining = options.replicas
        for w in 0..<workloads {
            let count = min(options.perWorkload, remaining)
            remaining -= count
            let workload: JSONValue = [
                "apiVersion": "kumo/v1", "kind": "Workload", "metadata": ["name": .string("w-\(w)"), "project": "scale"],
                "spec": [
                    "replicas": .number(Double(count)),
                    "template": [
                        // the first `services` workloads are each behind a service of their own
                        "labels": w < options.services ? ["app": .string("w-\(w)"), "svc": .string("s\(w)")] : ["app": .string("w-\(w)")],
                        "spec": ["image": "busybox:latest", "resources": ["cpu": "100m", "memory": "64Mi"]],
                    ],
                ],
            ]
            _ = try await admin.create(workload, kind: .workload, project: "scale")
        }
        let m = options.replicas
        try await wait("\(m) replicas bound", admin) { s in (s.placed - placedBefore, m) }
        f.boundSeconds = seconds(since: t0)
        f.boundPerSecond = Double(m) / max(f.boundSeconds, 0.001)
        log("\(m) replicas bound in \(format(f.boundSeconds)) s (\(Int(f.boundPerSecond))/s)")
        try await waitFleet("\(m) replicas reported Running", fleet) { $0.reportedRunning >= m }
        // the server's word, not the fleet's count: a replica evicted and replaced was reported twice
        var running = 0
        let deadline = ContinuousClock.now + options.timeout
        while running < m && ContinuousClock.now < deadline {
            running = try await countRunning(admin)
            if running < m { try await Task.sleep(for: .milliseconds(500)) }
        }
        guard running == m else { throw KumoError(.internal, "the server holds \(running) of \(m) replicas Running (fleet: \(fleet.stats))") }
        f.runningSeconds = seconds(since: t0)
        f.runningPerSecond = Double(m) / max(f.runningSeconds, 0.001)
        f.evictionsBeforeLoss = try await ServerState.read(admin).evicted
        log("\(m) replicas Running in \(format(f.runningSeconds)) s (\(f.evictionsBeforeLoss) evictions of nodes whose heartbeats were late)")

        // 3. the API while all of that runs: paced mutating writes
        (f.apiP99Ms, f.apiWrites, f.apiFailures) = try await apiLatency(admin)
        guard f.apiFailures == 0 else { throw KumoError(.internal, "\(f.apiFailures) of \(f.apiWrites) API writes failed") }
        log("API writes p99 \(format(f.apiP99Ms)) ms over \(f.apiWrites) writes")

        // 4. one Node change delivered to every agent's node watch
        let marker = "m\(Int.random(in: 1000...9999))"
        let target = fleet.names[0]
        let sent = DispatchTime.now().uptimeNanoseconds
        _ = try await admin.mergePatch(.node, target, ["metadata": ["labels": .object([SimulatedFleet.fanoutLabel: .string(marker)])]])
        try await waitFleet("the node change at every agent", fleet, timeout: .seconds(60)) { _ in fleet.fanoutDeliveries(marker).count >= n }
        let delays = fleet.fanoutDeliveries(marker).map { Double($0 &- sent) / 1e6 }.sorted()
        f.nodeFanoutP99Ms = percentile(delays, 99)
        f.fanoutDelivered = delays.count
        log("node change at all \(n) agents: p99 \(format(f.nodeFanoutP99Ms)) ms")

        // 5. a node lost: its replicas evicted and replaced elsewhere, Running again
        let victim = fleet.names[n / 2]
        let onVictim = try await admin.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=\(victim)")])
            .decode(ObjectList.self).items.count
        let reportedBefore = fleet.stats.reportedRunning
        t0 = ContinuousClock.now
        await fleet.stop(victim)
        try await waitFleet("\(onVictim) replicas of \(victim) replaced and Running", fleet) { $0.reportedRunning >= reportedBefore + onVictim }
        let left = try await admin.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=\(victim)")])
            .decode(ObjectList.self).items.count
        f.nodeLossReplacedSeconds = seconds(since: t0)
        f.nodeLossReplicas = onVictim
        guard left == 0, onVictim > 0 else {
            throw KumoError(.internal, "node loss: \(onVictim) replicas were on \(victim), \(left) are still bound there")
        }
        log("\(onVictim) replicas of a lost node replaced in \(format(f.nodeLossReplacedSeconds)) s")

        let beats = fleet.heartbeatLatencies.sorted()
        f.heartbeatP99Ms = percentile(beats, 99)
        f.heartbeats = fleet.stats.heartbeats
        log("heartbeats: \(beats.count), p99 \(format(f.heartbeatP99Ms)) ms, max \(format(beats.last ?? 0)) ms")
        if let child = server.daemon as? ChildProcess {
            (f.serverRSSMiB, f.serverPeakRSSMiB) = Self.rss(pid: child.pid)
            f.serverOpenFiles = Self.openFiles(pid: child.pid)
        }
        f.storeMiB = Self.mib(of: server.dataDir, files: ["kumo.db", "kumo.db-wal"])
        f.fleet = fleet.stats

        // 6. cold start: the server restarted → ready with every cache listed
        if options.measureColdStart {
            server.daemon.stop(kill9: false)
            let again = try ServerProcess(
                dataDir: server.dataDir, port: server.port, logLevel: "warning", extraArguments: serverArguments(), truncateLog: false)
            defer { if !again.daemon.hasExited { again.daemon.stop(kill9: true) } }
            t0 = ContinuousClock.now
            do {
                try await again.waitReady(timeout: .seconds(120))
                try await wait("the restarted server's caches", again.admin, timeout: .seconds(120)) { s in (s.cachesSynced ? 1 : 0, 1) }
                f.coldStartSeconds = seconds(since: t0)
                f.coldStarted = true
                log("cold start \(format(f.coldStartSeconds)) s")
            } catch {
                // reported, not thrown: the figures gathered so far still tell where the cost is
                f.coldStartSeconds = seconds(since: t0)
                f.coldStartFailure = "\(error)"
                log("cold start FAILED after \(format(f.coldStartSeconds)) s: \(error)")
            }
        }
        return f
    }

    // MARK: Waiting and measuring

    struct ServerState {
        var placed = 0
        var readyNodes = 0
        var cachesSynced = false
        var evicted = 0

        static func read(_ admin: KumoClient) async throws -> ServerState {
            let state = try await admin.send(.GET, "/debug/state").json()
            let c = state["controllers"]
            var s = ServerState()
            s.placed = c?["scheduler"]?["placed"]?.intValue ?? 0
            s.readyNodes = c?["scheduler"]?["schedulableNodes"]?.intValue ?? 0
            s.evicted = c?["nodeLifecycle"]?["evicted"]?.intValue ?? 0
            let informers = c?["informers"]?.objectValue ?? [:]
            s.cachesSynced = !informers.isEmpty && informers.values.allSatisfy { $0["synced"] == true }
            return s
        }
    }

    /// Polls the server's state until `progress` reaches its goal; throws with the last figure on timeout.
    func wait(
        _ what: String, _ admin: KumoClient, timeout: Duration? = nil, _ progress: (ServerState) -> (Int, Int)
    ) async throws {
        let deadline = ContinuousClock.now + (timeout ?? options.timeout)
        var last = (0, 0)
        while ContinuousClock.now < deadline {
            if let s = try? await ServerState.read(admin) {
                last = progress(s)
                if last.0 >= last.1 { return }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let state = try? await admin.send(.GET, "/debug/state").json()
        let controllers = state?["controllers"]
        let summary = ["scheduler", "workloads", "nodeLifecycle"].map { "\($0): \(controllers?[$0]?.jsonString ?? "-")" }.joined(separator: "; ")
        throw KumoError(.unavailable, "scale run: \(what) not reached in \(timeout ?? options.timeout): \(last.0) of \(last.1) (\(summary))")
    }

    func waitFleet(_ what: String, _ fleet: SimulatedFleet, timeout: Duration? = nil, _ done: (SimulatedFleet.Stats) -> Bool) async throws {
        let deadline = ContinuousClock.now + (timeout ?? options.timeout)
        while ContinuousClock.now < deadline {
            if done(fleet.stats) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KumoError(.unavailable, "scale run: \(what) not reached in \(timeout ?? options.timeout): fleet \(fleet.stats)")
    }

    /// Replicas the server holds as Running, counted page by page.
    func countRunning(_ admin: KumoClient) async throws -> Int {
        var count = 0
        var next: String? = nil
        repeat {
            var query = [("limit", "5000")]
            if let next { query.append(("continue", next)) }
            let page = try await admin.send(.GET, "/api/v1/projects/scale/replicas", query: query).decode(ObjectList.self)
            count += page.items.filter { $0["status"]?["phase"] == "Running" }.count
            next = page.metadata.continue
        } while next != nil
        return count
    }

    /// Secrets created at `apiRate` for `apiSeconds` (32 in flight at most): p99 ms, writes, failures.
    func apiLatency(_ admin: KumoClient) async throws -> (Double, Int, Int) {
        let total = Int(options.apiRate * options.apiSeconds)
        let start = ContinuousClock.now
        var ms: [Double] = []
        var failed = 0
        await withTaskGroup(of: Double?.self) { group in
            func collect(_ r: Double??) {
                guard let r else { return }
                if let r { ms.append(r) } else { failed += 1 }
            }
            for i in 0..<total {
                if i >= 32 { collect(await group.next()) }
                let due = start + .seconds(Double(i) / options.apiRate)
                if due > ContinuousClock.now { try? await Task.sleep(until: due) }
                group.addTask {
                    let secret: JSONValue = [
                        "apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": .string("api-\(i)"), "project": "scale"],
                        "spec": ["data": ["k": "dg=="]],
                    ]
                    let t = ContinuousClock.now
                    guard (try? await admin.create(secret, kind: .secret, project: "scale")) != nil else { return nil }
                    return (ContinuousClock.now - t).millisecondsValue
                }
            }
            while let r = await group.next() { collect(r) }
        }
        return (percentile(ms.sorted(), 99), ms.count + failed, failed)
    }

    /// VmRSS and VmHWM of a process, MiB.
    public static func rss(pid: Int32) -> (current: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// How many file descriptors a process holds open (0 when it cannot be read).
    static func openFiles(pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    static func mib(of dir: String, files: [String]) -> Double {
        files.reduce(0.0) { sum, f in
            sum + Double(((try? FileManager.default.attributesOfItem(atPath: dir + "/" + f))?[.size] as? Int) ?? 0) / 1_048_576
        }
    }
}

func seconds(since t0: ContinuousClock.Instant) -> Double { (ContinuousClock.now - t0).secondsValue }

func format(_ v: Double) -> String { String(format: "%.1f", v) }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))]
}
