import Foundation
import KumoInformers
import KumoModel
import Logging
import Synchronization

/// Keeps this node's share of the overlay right, flannel's job with its failure modes designed out:
/// - publishes its own VTEP (`status.overlay {publicIP, vtepMAC, backend}`) as its own field, and publishes it
///   again (taking it back) whenever it goes missing or is overwritten;
/// - programs exactly three entries (route, permanent neighbour, permanent FDB) for every other node with overlay
///   data, Ready or not, and removes them only when that node is deleted;
/// - keeps a peer's last known entries when its overlay data disappears from the API while the node still exists,
///   and says so (`OverlayDataMissing` event) instead of silently dropping its routes;
/// - re-reads the kernel every `interval` and repairs drift (missing, wrong or extra entries, a re-created or down
///   device), each repair an event naming the entry and a counter by kind.
final class OverlayManager: Sendable {
    let api: AgentAPI
    /// Every Node: the overlay's peers.
    let nodeCache: ObjectCache<NodeSpec>
    let kernel: OverlayKernel
    let node: String
    let subnet: IPv4Network
    let cluster: IPv4Network
    let publicIP: IPv4Address
    let underlayDevice: String
    let mtu: Int
    let hostNetns: String?
    let interval: Duration
    let logger: Logger
    let metrics: AgentMetrics
    let vtepMAC: String

    struct State: Sendable {
        /// Peers as last known (kept while their node exists, even if its overlay data went missing).
        var peers: [String: OverlayPeer] = [:]
        /// Peers whose overlay data is missing from the API (node still there): name → since.
        var missing: [String: Timestamp] = [:]
        var lastSync: Timestamp?
        var lastRepair: (at: Timestamp, what: String)?
        var repairsByKind: [String: Int] = [:]
        var syncs = 0
        var lastApplyMs: Double = 0
        var programmedCount = 0
        var lastError: String?
        var republished = 0
        /// The desired entries of the last successful sync: a sync that finds work although they did not
        /// change found drift (something outside Kumo changed the kernel).
        var lastDesired: Set<OverlayEntry>?
        /// Entries in the kernel after the last sync (read, and what the last apply added).
        var programmed: Set<OverlayEntry> = []
    }
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(
        api: AgentAPI, node: String, subnet: IPv4Network, cluster: IPv4Network, publicIP: IPv4Address,
        underlayDevice: String, mtu: Int, hostNetns: String?, interval: Duration, metrics: AgentMetrics, logger: Logger
    ) throws(KumoError) {
        self.api = api
        self.metrics = metrics
        self.kernel = try OverlayKernel(logger: logger)
        self.node = node
        self.subnet = subnet
        self.cluster = cluster
        self.publicIP = publicIP
        self.underlayDevice = underlayDevice
        self.mtu = mtu
        self.hostNetns = hostNetns
        self.interval = interval
        self.logger = logger
        self.vtepMAC = OverlayPeer.vtepMAC(forNode: node)
        self.nodeCache = api.cache(of: NodeSpec.self, logger: logger.with(label: "kumo.informer.nodes"))
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var ownOverlay: JSONValue {
        ["publicIP": .string(publicIP.description), "vtepMAC": .string(vtepMAC), "backend": "vxlan"]
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchNodes() }
            group.addTask { await self.syncLoop() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.interval)
                    self.wake.yield()
                }
            }
            await group.waitForAll()
        }
    }

    // MARK: Peers from the API

    /// Follows every Node in the informer; each change (a relist's deletions included) updates the peers, in order.
    func watchNodes() async {
        let changes = nodeCache.changes()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.nodeCache.run() }
            group.addTask {
                for await change in changes {
                    await self.observe(change.object, deleted: change.new == nil)
                    self.wake.yield()
                }
            }
        }
    }

    func observe(_ object: Node, deleted: Bool) async {
        let name = object.metadata.name
        let overlay = object.status?.overlay
        if name == node {
            if !deleted, overlay?.publicIP != publicIP.description || overlay?.vtepMAC != vtepMAC {
                await publish(reason: overlay == nil ? "missing" : "changed")
            }
            return
        }
        if deleted {
            state.withLock { s in
                s.peers[name] = nil
                s.missing[name] = nil
            }
            logger.info("peer deleted; removing its entries", metadata: ["peer": "\(name)"])
            return
        }
        guard let cidr = object.spec.podCIDR.flatMap(IPv4Network.init),
            let ip = overlay.flatMap({ IPv4Address($0.publicIP) }),
            let mac = overlay?.vtepMAC
        else {
            // the node exists but its overlay data is gone: keep what we had and say so
            let (known, first) = state.withLock { s -> (Bool, Bool) in
                let known = s.peers[name] != nil
                let first = known && s.missing[name] == nil
                if first { s.missing[name] = Timestamp.now() }
                return (known, first)
            }
            if known && first {
                logger.warning("peer's overlay data is missing; keeping its last known entries", metadata: ["peer": "\(name)"])
                await api.nodeEvent(
                    reason: "OverlayDataMissing",
                    message: "node \(name) has no status.overlay any more; node \(node) keeps its last known route, neighbour and FDB entries while the node exists",
                    warning: true)
            }
            return
        }
        state.withLock { s in
            s.peers[name] = OverlayPeer(node: name, podCIDR: cidr, publicIP: ip, vtepMAC: mac)
            s.missing[name] = nil
        }
    }

    /// Publishes (or takes back) this node's overlay data: a merge of `status.overlay` only, forced when another
    /// manager took the field, so the history shows both who removed it and that the agent restored it.
    func publish(reason: String) async {
        do {
            _ = try await api.patchNode(["status": ["overlay": ownOverlay]], force: true)
            let n = state.withLock { s -> Int in
                s.republished += 1
                return s.republished
            }
            if reason != "initial" {
                logger.warning("own overlay data was \(reason) in the API; published it again")
                await api.nodeEvent(
                    reason: "OverlayDataRestored",
                    message: "status.overlay of node \(node) was \(reason); its agent published it again (\(n) time(s)); see `kumo history node/\(node)` for who changed it",
                    warning: true)
            }
        } catch {
            logger.warning("could not publish overlay data", metadata: ["error": "\(error.message)"])
        }
    }

    // MARK: Kernel

    func syncLoop() async {
        var deviceReady = false
        for await _ in wakes {
            do {
                let changedDevice = try await kernel.ensureDevice(
                    mac: vtepMAC, localIP: publicIP, underlayDevice: underlayDevice, mtu: mtu, address: subnet.first,
                    hostNetns: hostNetns)
                if deviceReady, !changedDevice.isEmpty {
                    await recordRepair(kind: "device", what: "device kumo.1: \(changedDevice.joined(separator: ", "))")
                }
                deviceReady = true
                let (peers, previous) = state.withLock { (Array($0.peers.values), $0.lastDesired) }
                let desired = OverlayDiff.desired(peers: peers, localNode: node)
                let actual = try await kernel.read(hostNetns: hostNetns)
                var plan = OverlayDiff.plan(
                    desired: desired, actual: actual, device: kernel.device, clusterCIDR: cluster, localSubnet: subnet)
                if !changedDevice.isEmpty && plan.isEmpty {
                    // a re-created device lost its entries even if the read raced: re-apply all of them
                    plan = OverlayDiff.plan(
                        desired: desired, actual: OverlayKernelState(), device: kernel.device, clusterCIDR: cluster,
                        localSubnet: subnet)
                }
                if !plan.isEmpty {
                    let start = ContinuousClock.now
                    try await kernel.apply(plan, hostNetns: hostNetns)
                    metrics.overlayApplied(ContinuousClock.now - start)
                    let ms = Double((ContinuousClock.now - start).milliseconds)
                    state.withLock {
                        $0.lastApplyMs = ms
                    }
                    // changes that follow the cluster (a peer came or went) are not drift; the rest is
                    if previous == desired && changedDevice.isEmpty {
                        for repair in plan.repairs {
                            await recordRepair(kind: repair.kind.rawValue, what: repair.description)
                        }
                    } else {
                        logger.info("overlay entries applied", metadata: ["changes": "\(plan.summary)"])
                    }
                }
                let missing = state.withLock { $0.missing.count }
                metrics.overlaySynced(peers: peers.count, entries: desired.count, peersDataMissing: missing)
                state.withLock {
                    $0.lastSync = Timestamp.now()
                    $0.syncs += 1
                    $0.programmedCount = desired.count
                    $0.programmed = desired
                    $0.lastError = nil
                    $0.lastDesired = desired
                }
            } catch {
                state.withLock { $0.lastError = error.message }
                logger.warning("overlay sync failed", metadata: ["error": "\(error.message)"])
            }
        }
    }

    func recordRepair(kind: String, what: String) async {
        metrics.overlayRepaired(kind: kind)
        state.withLock { s in
            s.repairsByKind[kind, default: 0] += 1
            s.lastRepair = (Timestamp.now(), what)
        }
        logger.warning("overlay drift repaired", metadata: ["repair": "\(what)"])
        await api.nodeEvent(
            reason: "OverlayDriftRepaired",
            message: "\(what) on node \(node) did not match the cluster (changed outside Kumo); the agent put it back",
            warning: true)
    }

    // MARK: Health

    /// What the node health report says of the overlay: peers with overlay data (expected), peers all of whose
    /// entries the last sync left in the kernel (programmed), peers whose data went missing, and the expected
    /// entries the kernel lacks per the last sync (at most `limit` lines).
    struct HealthFacts: Sendable {
        var peers: [OverlayPeer]
        var programmedPeers: Int
        var dataMissing: [String]
        var missingEntries: [String]
        var lastError: String?
    }

    func healthFacts(limit: Int = 50) -> HealthFacts {
        let s = state.withLock { $0 }
        let peers = s.peers.values.sorted { $0.node < $1.node }
        var missing: [String] = []
        var programmed = 0
        for p in peers {
            let absent = p.entries.filter { !s.programmed.contains($0) }
            if absent.isEmpty { programmed += 1 }
            missing += absent.sorted().map { "\($0.description) (peer \(p.node))" }
        }
        return HealthFacts(
            peers: peers, programmedPeers: programmed, dataMissing: s.missing.keys.sorted(),
            missingEntries: Array(missing.prefix(limit)), lastError: s.lastError)
    }

    // MARK: State and metrics

    func stateDump() -> JSONValue {
        let s = state.withLock { $0 }
        let peers: [JSONValue] = s.peers.values.sorted { $0.node < $1.node }.map { p in
            let entries = p.entries.sorted().map { JSONValue.string($0.description) }
            let programmed = p.entries.sorted().filter { s.programmed.contains($0) }.map { JSONValue.string($0.description) }
            return [
                "node": .string(p.node), "podCIDR": .string(p.podCIDR.description), "publicIP": .string(p.publicIP.description),
                "vtepMAC": .string(p.vtepMAC), "expectedEntries": .array(entries), "programmedEntries": .array(programmed),
                "overlayDataMissingSince": s.missing[p.node].map { .string($0.rfc3339) } ?? .null,
            ]
        }
        return [
            "device": .string(kernel.device), "vtepMAC": .string(vtepMAC), "publicIP": .string(publicIP.description),
            "underlayDevice": .string(underlayDevice), "mtu": .number(Double(mtu)), "subnet": .string(subnet.description),
            "peers": .array(peers), "entriesProgrammed": .number(Double(s.programmedCount)),
            "lastSync": s.lastSync.map { .string($0.rfc3339) } ?? .null,
            "lastRepair": s.lastRepair.map { ["at": .string($0.at.rfc3339), "what": .string($0.what)] } ?? .null,
            "repairsByKind": .object(s.repairsByKind.mapValues { .number(Double($0)) }),
            "lastApplyMs": .number(s.lastApplyMs), "syncs": .number(Double(s.syncs)),
            "lastError": s.lastError.map { .string($0) } ?? .null, "published": .number(Double(s.republished)),
        ]
    }
}
