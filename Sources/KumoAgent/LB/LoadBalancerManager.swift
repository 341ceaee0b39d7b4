import Foundation
import KumoInformers
import KumoModel
import KumoSystem
import Logging
import Synchronization

/// The node's load balancer: follows every Service (watch), renders haproxy.cfg for all of them, keeps their VIPs
/// on the node's `lo` (so the host and its containers reach them), loads the config through the supervisor, and
/// acknowledges with its lease the store revision of services it serves (not on its Node: every agent watches
/// Nodes, so an acknowledgement there reached every node). Stopping replicas wait here (`drain`) until every live
/// node serves a revision without them.
final class LoadBalancerManager: Sendable {
    let api: AgentAPI
    let node: String
    let nodeAddress: String?
    let serviceCIDR: IPv4Network
    let ip: IPCommand
    let supervisor: HAProxySupervisor
    let drainTimeout: Duration
    let logger: Logger
    /// Every service (a node's HAProxy serves every VIP).
    let serviceCache: ObjectCache<ServiceSpec>

    struct State: Sendable {
        var services: [String: Service] = [:]
        var synced = false
        /// What HAProxy serves now.
        var applied: [String: LBService] = [:]
        /// The store revision `services` reflects (the list's, then each event's).
        var revision: Int64 = 0
        /// The revision HAProxy serves (its config was built from `services` at that revision), and the one the
        /// server has been told.
        var appliedRevision: Int64?
        var published: Int64?
        var vips: Set<String> = []
        var stats = HAProxyStats(rows: [])
        var samples = LBSamples()
        var lastError: String?
        var drains: [DrainRecord] = []
        var syncs = 0
        /// External ports the running config leaves out because something else holds them (by port).
        var withheld: [Int: WithheldPort] = [:]
        /// A re-sync is pending to publish withheld ports once they are free.
        var recheckScheduled = false
    }

    struct DrainRecord: Sendable {
        var replica: String
        var at: Timestamp
        var waitedMs: Int
        var outcome: String
    }

    let state = Mutex(State())
    private let recordsSink = Mutex<(@Sendable ([DNSRecord]) async -> Void)?>(nil)
    private let lastRecords = Mutex<[DNSRecord]?>(nil)
    let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(
        api: AgentAPI, node: String, nodeAddress: String?, serviceCIDR: IPv4Network, hostNetns: String?, dir: String,
        drainTimeout: Duration, logger: Logger
    ) {
        self.api = api
        self.node = node
        self.nodeAddress = nodeAddress
        self.serviceCIDR = serviceCIDR
        self.ip = IPCommand(command: Command(logger: logger), netns: hostNetns)
        self.supervisor = HAProxySupervisor(dir: dir, hostNetns: hostNetns, logger: logger)
        self.drainTimeout = drainTimeout
        self.logger = logger
        self.serviceCache = api.cache(of: ServiceSpec.self, logger: logger.with(label: "kumo.informer.services"))
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Where service DNS records go (the node's dnsmasq) after each sync that changed them.
    func onRecords(_ sink: @escaping @Sendable ([DNSRecord]) async -> Void) {
        recordsSink.withLock { $0 = sink }
    }

    /// `<service>.<project>.kumo → VIP` for every service with a VIP (sorted: a stable file).
    static func dnsRecords(_ services: [LBService]) -> [DNSRecord] {
        services.sorted { $0.key < $1.key }.compactMap { s in
            guard let ip = IPv4Address(s.vip) else { return nil }
            return try? DNSRecord(name: "\(s.name).\(s.project).kumo", ip: ip)
        }
    }

    func publishRecords(_ services: [LBService]) async {
        guard let sink = recordsSink.withLock({ $0 }) else { return }
        let records = Self.dnsRecords(services)
        guard lastRecords.withLock({ $0 }) != records else { return }
        await sink(records)
        lastRecords.withLock { $0 = records }
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchServices() }
            group.addTask { await self.syncLoop() }
            group.addTask {
                // watchdog + stats: HAProxy restarted if it died; `show stat` sampled for state, metrics, findings
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if await self.supervisor.restartIfDead() {
                        await self.api.nodeEvent(
                            reason: "HAProxyRestarted", message: "HAProxy on node \(self.node) had died; started again", warning: true)
                        // a sync checks the restarted process's listeners and probes the external ports again (one
                        // may have been taken while HAProxy was down)
                        self.wake.yield()
                    }
                    await self.sampleStats()
                }
            }
            await group.waitForAll()
        }
    }

    // MARK: Services from the API

    /// Follows the services in the informer: `state.services`, and the revision they reflect, follow each change;
    /// the first sync lets the sync loop render.
    func watchServices() async {
        serviceCache.onChange { change in
            self.state.withLock { s in
                s.services[change.key] = change.new
                s.revision = max(s.revision, change.revision)
            }
            self.wake.yield()
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.serviceCache.run() }
            group.addTask {
                guard await self.serviceCache.waitForSync() else { return }
                let listed = self.serviceCache.stats.revision
                self.state.withLock { s in
                    s.synced = true
                    s.revision = max(s.revision, listed)
                }
                self.wake.yield()
            }
        }
    }

    static func key(_ s: Service) -> String { "\(s.metadata.project ?? "")/\(s.metadata.name)" }

    // MARK: Sync

    func syncLoop() async {
        for await _ in wakes {
            if Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(10))  // coalesce a burst of changes into one reload
            await sync()
        }
    }

    /// Render → VIPs → (drain leaving servers) → probe external ports, validate + load, check the listeners → drop
    /// stale VIPs → acknowledge the revision served.
    func sync() async {
        let (services, revision, synced, before) = state.withLock { ($0.services, $0.revision, $0.synced, $0.applied) }
        guard synced else { return }
        var desired: [String: LBService] = [:]
        for (key, s) in services { if let lb = LBService(s) { desired[key] = lb } }
        let ids = HAProxySupervisor.unprivilegedIDs()
        let config = HAProxyConfig(
            node: node, adminSocket: supervisor.adminSocket, aliveSocket: supervisor.aliveSocket, nodeAddress: nodeAddress,
            services: Array(desired.values), chroot: supervisor.chrootDir, uid: ids.uid, gid: ids.gid)
        do {
            let vips = Set(desired.values.map(\.vip))
            try await addVIPs(vips)
            await drainLeaving(before: before, after: desired)
            // published only once HAProxy verifiably listens on what was rendered (and what was left out is said)
            let withheld = try await loadGuarded(config)
            try await removeStaleVIPs(keeping: vips)
            let previous = state.withLock {
                let previous = $0.withheld
                $0.applied = desired
                $0.appliedRevision = revision
                $0.vips = vips
                $0.withheld = withheld
                $0.lastError = Self.withheldMessage(withheld)
                $0.syncs += 1
                return previous
            }
            await publish(revision)
            await publishRecords(Array(desired.values))
            // after publishing: events are best effort and must not delay the generations drains wait for
            await reportWithheld(previous: previous, now: withheld, config: config)
        } catch {
            state.withLock { $0.lastError = error.message }
            logger.error("load balancer sync failed", metadata: ["error": "\(error.message)"])
            Task {
                try? await Task.sleep(for: .seconds(2))
                self.wake.yield()
            }
        }
    }

    /// Servers that leave are put in maintenance through the Runtime API first, so the running process sends them
    /// nothing new while the reload happens.
    func drainLeaving(before: [String: LBService], after: [String: LBService]) async {
        var commands: [String] = []
        for (key, old) in before {
            let remaining = Set((after[key]?.endpoints ?? []).compactMap(\.replica))
            for e in old.endpoints where !remaining.contains(e.replica ?? "") {
                for port in old.ports { commands.append("set server \(old.proxyName(port))/\(e.replica ?? e.ip) state maint") }
            }
        }
        guard !commands.isEmpty else { return }
        _ = try? await supervisor.runtime().send(commands.joined(separator: "; "))
    }

    /// Tells the server, with a lease renewal, the revision HAProxy serves now; retried in a second when that
    /// fails (the next heartbeat carries it too).
    func publish(_ revision: Int64) async {
        guard state.withLock({ $0.published }) != revision else { return }
        do {
            try await api.renewLease(durationSeconds: nil, appliedRevision: revision)
            state.withLock { $0.published = revision }
        } catch {
            logger.warning("failed to acknowledge the served revision", metadata: ["revision": "\(revision)", "error": "\(error.message)"])
            Task {
                try? await Task.sleep(for: .seconds(1))
                if let now = self.state.withLock({ $0.appliedRevision }) { await self.publish(now) }
            }
        }
    }

    /// The revision of services HAProxy serves (nil before the first load).
    var appliedRevision: Int64? { state.withLock { $0.appliedRevision } }

    // MARK: VIPs on lo

    func addVIPs(_ vips: Set<String>) async throws(KumoError) {
        let missing = vips.subtracting(state.withLock { $0.vips })
        guard !missing.isEmpty else { return }
        try await ip.batch(missing.sorted().map { "addr replace \($0)/32 dev lo" }, what: "failed to add service VIPs")
    }

    func removeStaleVIPs(keeping vips: Set<String>) async throws(KumoError) {
        let present = try await Self.serviceAddresses(ip: ip, cidr: serviceCIDR)
        let stale = present.subtracting(vips)
        guard !stale.isEmpty else { return }
        try await ip.batch(stale.sorted().map { "addr del \($0)/32 dev lo" }, what: "failed to remove service VIPs")
    }

    /// Addresses of the service CIDR on `lo`.
    static func serviceAddresses(ip: IPCommand, cidr: IPv4Network) async throws(KumoError) -> Set<String> {
        let out = try await ip.check(["-j", "addr", "show", "dev", "lo"], what: "failed to read addresses of lo")
        guard let json = try? JSONValue(parsing: Array(out.utf8)) else { return [] }
        var found: Set<String> = []
        for link in json.arrayValue ?? [] {
            for a in link["addr_info"]?.arrayValue ?? [] {
                if let local = a["local"]?.stringValue, let addr = IPv4Address(local), cidr.contains(addr) { found.insert(local) }
            }
        }
        return found
    }

    /// `kumo agent reset`: stops every HAProxy of this agent and removes the VIPs.
    /// The VIPs go from the namespace HAProxy ran in (reset may run outside the node's namespace) and from the
    /// agent's own (`hostNetns` or the current one).
    static func reset(dir: String, hostNetns: String?, serviceCIDR: IPv4Network) async {
        let pids = HAProxySupervisor.processes(config: dir + "/haproxy.cfg")
        var namespaces: [String: String] = [:]  // ns identity → a path to enter it
        for pid in pids {
            let path = "/proc/\(pid)/ns/net"
            if let id = try? FileManager.default.destinationOfSymbolicLink(atPath: path), namespaces[id] == nil { namespaces[id] = path }
        }
        var commands: [IPCommand] = [IPCommand(command: Command(), netns: hostNetns)]
        let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        for (id, path) in namespaces where id != own || hostNetns != nil {
            commands.append(IPCommand(command: Command(), netns: nil, enter: path))
        }
        for ip in commands {
            if let vips = try? await serviceAddresses(ip: ip, cidr: serviceCIDR), !vips.isEmpty {
                try? await ip.batch(vips.sorted().map { "addr del \($0)/32 dev lo" }, what: "remove VIPs")
            }
        }
        for pid in pids { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: Drain (a replica's beforeStop)

    /// Waits until no live node's HAProxy sends to `replica` any more: every service selecting it has a version
    /// without it, and every live node acknowledges serving that version's revision (or a later one). Gives up after the
    /// drain timeout with a `DrainTimeout` event naming the nodes that lag.
    func drain(_ replica: Replica) async {
        let project = replica.metadata.project ?? ""
        let name = replica.metadata.name
        let selecting = state.withLock { s in
            s.services.filter {
                $0.value.metadata.project == project && $0.value.spec.selects(replica.metadata.labels)
            }.map(\.key)
        }
        guard !selecting.isEmpty else { return }
        let started = ContinuousClock.now
        let deadline = started + drainTimeout
        var targets: [String: Int64] = [:]
        var lagging: [String] = []
        while ContinuousClock.now < deadline {
            let services = state.withLock { $0.services }
            for key in selecting where targets[key] == nil {
                guard let s = services[key] else {
                    targets[key] = 0  // deleted: nothing routes to it
                    continue
                }
                if !(s.status?.endpoints ?? []).contains(where: { $0.replica == name }) {
                    targets[key] = s.metadata.resourceVersion.flatMap { Int64($0) } ?? 0
                }
            }
            if targets.count == selecting.count {
                lagging = await laggingNodes(targets)
                if lagging.isEmpty { break }
            } else {
                lagging = selecting.filter { targets[$0] == nil }.map { "endpoints of \($0) still list it" }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let waited = ContinuousClock.now - started
        let ms = Int(waited.milliseconds)
        let outcome = lagging.isEmpty ? "drained" : "timeout: " + lagging.joined(separator: ", ")
        state.withLock {
            $0.drains.append(DrainRecord(replica: "\(project)/\(name)", at: Timestamp.now(), waitedMs: ms, outcome: outcome))
            if $0.drains.count > 20 { $0.drains.removeFirst($0.drains.count - 20) }
        }
        if lagging.isEmpty {
            logger.info("replica drained from every load balancer", metadata: ["replica": "\(project)/\(name)", "ms": "\(ms)"])
        } else {
            await api.event(
                project: project, replica: name, reason: "DrainTimeout",
                message: "stopping after \(ms) ms although not every load balancer has dropped it: \(lagging.joined(separator: ", "))",
                warning: true)
        }
    }

    /// Live nodes whose load balancer does not serve a service's target revision yet, as "node (service revision
    /// applied R < T)", from the server's acknowledgements (one small answer per service, not a list of Nodes).
    func laggingNodes(_ targets: [String: Int64]) async -> [String] {
        var out: [String] = []
        for (key, target) in targets.sorted(by: { $0.key < $1.key }) where target > 0 {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            do {
                let (lagging, count) = try await api.laggingLoadBalancers(project: parts[0], service: parts[1], revision: target)
                out += lagging.map { "\($0) < \(target) for \(key)" }
                if count > lagging.count { out.append("\(count - lagging.count) more for \(key)") }
            } catch where error.code == .notFound {
                continue  // the service is gone: nothing routes to it
            } catch {
                out.append("acknowledgements of \(key) unavailable: \(error.message)")
            }
        }
        return out
    }
}
