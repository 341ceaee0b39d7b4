import AsyncHTTPClient
import Foundation
import KumoAgent
import KumoAPI
import KumoModel
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A FAKE fleet of node agents, for scale runs and the scale smoke test only (never production code): one process
/// runs N simulated agents against a real server. Each joins with a join token and works with its own node token
/// over HTTPS through the real agent's API calls (`AgentAPI`): it registers its Node with capacity (the server
/// gives it a pod subnet), renews its lease, watches the replicas bound to it and reports each Running and ready,
/// finishes their graceful deletions, and watches Nodes and Services as a real agent's overlay and load-balancer
/// managers do. It runs no container, no network, no HAProxy. Each agent has an HTTP client of its own, as a real
/// agent does: against a server that speaks HTTP/2 its watches, heartbeats and reports share one connection.
public final class SimulatedFleet: Sendable {
    public struct Options: Sendable {
        public var nodes: Int
        /// Node names are `PREFIX-N` (N from 1).
        public var prefix = "sim"
        public var cpu = "32"
        public var memory = "128Gi"
        public var pods = 110
        /// Zones `z0`…: node N is in zone `z(N mod zones)`.
        public var zones = 3
        public var heartbeat: Duration = .seconds(2)
        public var leaseSeconds = 6
        public var watchNodes = true
        public var watchServices = true
        /// Joins and registrations in flight at once.
        public var joinConcurrency = 32

        public init(nodes: Int) { self.nodes = nodes }
    }

    public struct Stats: Sendable, Equatable {
        public var joined = 0
        public var heartbeats = 0
        public var heartbeatFailures = 0
        /// Replicas reported Running (each once per incarnation).
        public var reportedRunning = 0
        public var reportFailures = 0
        public var deletionsFinished = 0
        public var nodeEvents = 0
        public var serviceEvents = 0
        /// Watches that ended or failed and were opened again (after a relist).
        public var rewatches = 0
        /// Node and service watches answered over HTTP/2 (multiplexed on the agent's one connection).
        public var http2Watches = 0
    }

    /// The label whose value a fanout probe writes on one node (`markFanout`).
    public static let fanoutLabel = "bench.kumo.dev/fanout"

    public let options: Options
    let server: String
    let caPEM: String?
    let httpConfiguration: HTTPClient.Configuration
    let logger: Logger
    private let counters = Mutex(Stats())
    /// Lease renewal latencies (ms), the last 100,000.
    private let heartbeatMs = Mutex<[Double]>([])
    /// Per fanout marker: when each agent's node watch first delivered it (uptime ns), by agent.
    private let fanout = Mutex<[String: [String: UInt64]]>([:])
    private let agents = Mutex<[String: Task<Void, Never>]>([:])
    /// Every agent's HTTP client from the moment it is made (a join that failed too), until it is shut down.
    private let clients = Mutex<[String: HTTPClient]>([:])

    /// One simulated agent: its API calls (with its node token) and its own HTTP client.
    struct Agent: Sendable {
        let api: AgentAPI
        let http: HTTPClient
    }

    public init(server: String, caPEM: String?, options: Options, logger: Logger) throws {
        self.server = server
        self.caPEM = caPEM
        self.options = options
        self.logger = logger
        var config = HTTPClient.Configuration()
        if let caPEM {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
            config.tlsConfiguration = tls
        }
        // HTTP/2 (negotiated with ALPN) multiplexes an agent's watches and requests on one connection; against an
        // HTTP/1.1-only server each watch holds a connection of its own, so allow an agent that many
        let watches = 1 + (options.watchNodes ? 1 : 0) + (options.watchServices ? 1 : 0)
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: watches + 2)
        config.timeout = .init(connect: .seconds(10))
        httpConfiguration = config
    }

    public var names: [String] { (1...max(1, options.nodes)).map { "\(options.prefix)-\($0)" } }

    public var stats: Stats { counters.withLock { $0 } }

    /// Joins and registers every node (at most `joinConcurrency` at once), then starts each agent. Throws the
    /// first failure (the fleet is then partly started: `shutdown()` it).
    public func start(joinToken: String) async throws {
        let names = self.names
        let width = max(1, options.joinConcurrency)
        try await withThrowingTaskGroup(of: (String, Agent).self) { group in
            for (index, name) in names.enumerated() {
                if index >= width, let (joined, agent) = try await group.next() { started(joined, agent) }
                group.addTask {
                    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: self.httpConfiguration)
                    self.clients.withLock { $0[name] = http }
                    return (name, try await self.join(name, index: index, joinToken: joinToken, http: http))
                }
            }
            while let (joined, agent) = try await group.next() { started(joined, agent) }
        }
    }

    private func started(_ name: String, _ agent: Agent) {
        counters.withLock { $0.joined += 1 }
        let task = Task { await self.runAgent(agent) }
        agents.withLock { $0[name] = task }
    }

    /// One node's join and registration, as `kumo agent` does them (no agent URL: nothing calls a fake agent).
    func join(_ name: String, index: Int, joinToken: String, http: HTTPClient) async throws(KumoError) -> Agent {
        let token = try JoinToken(parsing: joinToken)
        let joiner = KumoClient(baseURL: server, token: token.secret, http: http)
        let body = encodeJSON(JoinRequest(node: name, addresses: [Self.address(index)]))
        let info = try await joiner.send(.POST, "/api/v1/join", body: body).decode(TokenInfo.self)
        guard let secret = info.token else { throw KumoError(.internal, "the join of \(name) returned no token") }
        let api = AgentAPI(client: KumoClient(baseURL: server, token: secret, http: http), node: name)
        let object: JSONValue = [
            "apiVersion": .string(Kind.apiVersion), "kind": "Node",
            "metadata": ["name": .string(name), "labels": ["zone": .string("z\((index + 1) % max(1, options.zones))")]],
            "spec": [:],
        ]
        do {
            _ = try await api.createNode(object)
        } catch where error.code == .alreadyExists {}
        let capacity: JSONValue = ["cpu": .string(options.cpu), "memory": .string(options.memory), "pods": .number(Double(options.pods))]
        _ = try await api.patchNode([
            "status": [
                "addresses": [.string(Self.address(index))], "capacity": capacity, "allocatable": capacity,
                "overlay": ["publicIP": .string(Self.address(index)), "vtepMAC": .string(Self.mac(index)), "backend": "vxlan"],
                "info": ["agentVersion": "simulated", "os": "linux", "arch": "x86_64"],
            ]
        ])
        try await api.renewLease(durationSeconds: options.leaseSeconds)
        return Agent(api: api, http: http)
    }

    /// Underlay addresses from the benchmarking range 198.18.0.0/15 (RFC 2544), as numbers only: nothing ever sends
    /// traffic to a simulated node.
    static func address(_ i: Int) -> String { "198.18.\((i / 250) % 256).\(i % 250 + 1)" }
    static func mac(_ i: Int) -> String { String(format: "02:5a:%02x:%02x:%02x:%02x", (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255) }

    /// Stops one agent as a lost node stops: no more heartbeats, reports or watches, its connection closed. Its
    /// objects stay.
    public func stop(_ node: String) async {
        guard let task = agents.withLock({ $0.removeValue(forKey: node) }) else { return }
        task.cancel()
        await task.value
        try? await clients.withLock({ $0.removeValue(forKey: node) })?.shutdown()
    }

    /// Stops every agent and closes their HTTP clients.
    public func shutdown() async {
        let tasks = agents.withLock { a -> [Task<Void, Never>] in
            defer { a.removeAll() }
            return Array(a.values)
        }
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
        let all = clients.withLock { c -> [HTTPClient] in
            defer { c.removeAll() }
            return Array(c.values)
        }
        await withDiscardingTaskGroup { group in
            for http in all { group.addTask { try? await http.shutdown() } }
        }
    }

    public var heartbeatLatencies: [Double] { heartbeatMs.withLock { $0 } }

    /// When each agent saw a node labelled `fanoutLabel=marker` (uptime nanoseconds), one entry per agent.
    public func fanoutDeliveries(_ marker: String) -> [UInt64] { fanout.withLock { Array(($0[marker] ?? [:]).values) } }

    // MARK: One agent

    typealias Job = @Sendable () async -> Void

    func runAgent(_ agent: Agent) async {
        let api = agent.api
        // one request at a time for the replicas, as one agent's runner reports them
        let (jobs, queue) = AsyncStream.makeStream(of: Job.self)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.heartbeats(api) }
            group.addTask {
                for await job in jobs {
                    if Task.isCancelled { break }
                    await job()
                }
            }
            group.addTask {
                await self.follow(label: "replicas", list: { try await api.listReplicas() }, watch: { try await api.watchReplicas(since: $0) }) { self.replica($0, api, queue) }
                queue.finish()
            }
            // the fleet reads every node and service event as bytes, without parsing: N agents in one process must
            // not spend N times a real agent's CPU on copies of one object (a real agent parses its own)
            if options.watchNodes {
                group.addTask {
                    await self.followRaw(.node, agent) { line in
                        self.counters.withLock { $0.nodeEvents += 1 }
                        if let m = Self.value(after: Self.fanoutMarker, in: line) {
                            let now = DispatchTime.now().uptimeNanoseconds
                            self.fanout.withLock { f in
                                if f[m]?[api.node] == nil { f[m, default: [:]][api.node] = now }
                            }
                        }
                    }
                }
            }
            if options.watchServices {
                group.addTask {
                    await self.followRaw(.service, agent) { _ in self.counters.withLock { $0.serviceEvents += 1 } }
                }
            }
        }
    }

    static let fanoutMarker = Array("\"\(fanoutLabel)\":\"".utf8)

    /// The string value that follows `marker` in `line` (up to the next quote).
    static func value(after marker: [UInt8], in line: ArraySlice<UInt8>) -> String? {
        guard line.count > marker.count, let first = marker.first else { return nil }
        var i = line.startIndex
        let end = line.endIndex - marker.count
        while i <= end {
            if line[i] == first && line[i..<(i + marker.count)].elementsEqual(marker) {
                let start = i + marker.count
                guard let close = line[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return String(decoding: line[start..<close], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }

    /// Watches every object of `kind` as this node may (from the revision of a one-item list), handing each event
    /// line to `line` unparsed; again after a pause when the watch ends or fails.
    func followRaw(_ kind: Kind, _ agent: Agent, _ line: @escaping @Sendable (ArraySlice<UInt8>) -> Void) async {
        let api = agent.api
        await rewatching(kind.plural) {
            let page = try await api.client.send(.GET, APIPaths.collection(kind, project: nil), query: [("limit", "1")])
                .decode(ObjectList.self)
            var request = HTTPClientRequest(
                url: self.server + APIPaths.collection(kind, project: nil) + "?watch=true&since=" + page.metadata.revision)
            request.headers.add(name: "Authorization", value: "Bearer \(api.client.token)")
            request.headers.add(name: "Accept", value: "application/x-ndjson")
            let response = try await agent.http.execute(request, timeout: .hours(24))
            guard response.status == .ok else { return }
            if response.version.major >= 2 { self.counters.withLock { $0.http2Watches += 1 } }
            var pending: [UInt8] = []
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                var start = pending.startIndex
                while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    line(pending[start..<nl])
                    start = nl + 1
                }
                pending.removeSubrange(..<start)
            }
        }
    }

    /// Runs `watch` until the task is cancelled: again, after a pause of 0.2–1 s, whenever it ends or fails.
    func rewatching(_ what: String, _ watch: () async throws -> Void) async {
        var first = true
        while !Task.isCancelled {
            if !first {
                counters.withLock { $0.rewatches += 1 }
                try? await Task.sleep(for: .milliseconds(Int64.random(in: 200...1000)))
            }
            first = false
            do {
                try await watch()
            } catch {
                if Task.isCancelled { return }
                logger.debug("simulated agent watch failed", metadata: ["what": "\(what)", "error": "\(error)"])
            }
        }
    }

    func heartbeats(_ api: AgentAPI) async {
        // spread the fleet's renewals over the interval
        try? await Task.sleep(for: .milliseconds(Int64.random(in: 0..<max(1, options.heartbeat.millisecondsWhole))))
        while !Task.isCancelled {
            let t0 = ContinuousClock.now
            do {
                try await api.renewLease(durationSeconds: options.leaseSeconds)
                let ms = (ContinuousClock.now - t0).millisecondsValue
                heartbeatMs.withLock { h in
                    if h.count >= 100_000 { h.removeFirst(50_000) }
                    h.append(ms)
                }
                counters.withLock { $0.heartbeats += 1 }
            } catch {
                if Task.isCancelled { return }
                counters.withLock { $0.heartbeatFailures += 1 }
            }
            try? await Task.sleep(for: options.heartbeat)
        }
    }

    /// List, then watch from the list's revision; again (after a pause) when the watch ends or fails.
    func follow(
        label: String, list: @escaping @Sendable () async throws -> (items: [JSONValue], revision: Int64),
        watch: @escaping @Sendable (Int64) async throws -> AsyncThrowingStream<WatchEventWire, any Error>,
        _ handle: @escaping @Sendable (JSONValue) -> Void
    ) async {
        await rewatching(label) {
            let (items, revision) = try await list()
            for item in items { handle(item) }
            for try await event in try await watch(revision) {
                if event.type == "ERROR" { break }
                if event.type != "DELETED" { handle(event.object) }
            }
        }
    }

    /// A bound replica: finish its graceful deletion, or report it Running and ready (once per version that is not).
    func replica(_ r: JSONValue, _ api: AgentAPI, _ queue: AsyncStream<Job>.Continuation) {
        guard let project = r["metadata"]?["project"]?.stringValue, let name = r["metadata"]?["name"]?.stringValue else { return }
        if r["metadata"]?["deletionTimestamp"] != nil {
            queue.yield {
                try? await api.finishDeletion(project: project, name: name)
                self.counters.withLock { $0.deletionsFinished += 1 }
            }
            return
        }
        guard r["status"]?["phase"]?.stringValue != "Running" || r["status"]?["ready"] != true, r["spec"]?["network"] != nil else { return }
        let status: JSONValue = [
            "phase": "Running", "ready": true, "ip": r["spec"]?["network"]?["ip"] ?? .null, "startedAt": .string(Timestamp.now().rfc3339),
        ]
        queue.yield {
            do {
                try await api.patchReplicaStatus(project: project, name: name, status)
                self.counters.withLock { $0.reportedRunning += 1 }
            } catch {
                self.counters.withLock { $0.reportFailures += 1 }
            }
        }
    }
}

extension Duration {
    fileprivate var millisecondsWhole: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
