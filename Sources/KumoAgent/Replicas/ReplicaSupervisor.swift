import Foundation
import KumoAPI
import KumoInformers
import KumoModel
import Logging
import Synchronization

/// Keeps this node's containers equal to the replicas bound to it: follows them in an informer (`ObjectCache`,
/// `fieldSelector=spec.nodeName=<node>`), starts a runner per replica, stops runners whose replica was
/// deleted, marked for deletion or bound elsewhere, and — once, at start — re-adopts containers that survived an
/// agent restart and removes those nothing asks for any more. It also runs the node's one secret watch
/// (`NodeSecrets`) and hands each new secret version to the runners that mount it.
final class ReplicaSupervisor: Sendable {
    let context: RunnerContext
    let node: String
    let logger: Logger
    let secrets: NodeSecrets
    private let runners = Mutex<[String: ReplicaRunner]>([:])
    private let inventory = Mutex<Inventory?>(nil)
    /// The replicas bound to this node.
    let replicas: ObjectCache<ReplicaSpec>

    /// What was on the node when the agent started.
    struct Inventory: Sendable {
        var running: [String: Int32]
        var records: [String: ReplicaRecord]
        var containers: Set<String>
    }

    init(context: RunnerContext, node: String, logger: Logger) {
        self.context = context
        self.node = node
        self.logger = logger
        self.secrets = NodeSecrets(api: context.api, metrics: context.metrics, logger: logger.with(label: "kumo.secrets"))
        self.replicas = context.api.cache(of: ReplicaSpec.self, boundHere: true, logger: logger.with(label: "kumo.informer.replicas"))
    }

    func run() async {
        let running = await context.driver.runningContainers()
        let records = Dictionary(
            ReplicaRecord.loadAll(from: context.recordsDir).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let containers = Set(await context.driver.allContainers())
        inventory.withLock { $0 = Inventory(running: running, records: records, containers: containers) }
        if !running.isEmpty || !records.isEmpty {
            logger.info("found containers from before", metadata: ["running": "\(running.count)", "records": "\(records.count)"])
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.housekeeping() }
            group.addTask { await self.secrets.run { key, data in await self.deliver(key, data) } }
            // every change, the first list's objects included, before the cache counts as synced; a relist (410,
            // a reconnect after a gap) reports what went meanwhile as deletions, so their runners stop
            replicas.onChange { change in self.reconcile(change.object, deleted: change.new == nil) }
            group.addTask { await self.replicas.run() }
            group.addTask {
                // once: what survived from before and no bound replica wants
                guard await self.replicas.waitForSync() else { return }
                await self.removeLeftovers(desired: Set(self.replicas.list().compactMap(\.metadata.uid)))
            }
            await group.waitForAll()
        }
    }

    /// One replica as the cache reports it changed → start, update or stop its runner.
    func reconcile(_ replica: Replica, deleted: Bool) {
        guard let uid = replica.metadata.uid else { return }
        let existing = runners.withLock { $0[uid] }
        let boundHere = replica.spec.nodeName == node
        if deleted || !boundHere {
            existing?.requestStop(finalize: false, reason: deleted ? "replica deleted" : "replica bound elsewhere")
            return
        }
        if let existing {
            existing.update(replica)
            if replica.metadata.deletionTimestamp != nil {
                existing.requestStop(finalize: true, reason: "deletion requested")
            }
            return
        }
        let inv = inventory.withLock { $0 }
        let record = inv?.records[uid]
        let pid = inv?.running[uid]
        logger.debug("new runner", metadata: ["replica": "\(uid)", "at": "\(Timestamp.now().rfc3339)"])
        let runner = ReplicaRunner(replica: replica, context: context, secrets: secrets, adopted: record, adoptedPid: pid)
        if record != nil && pid == nil && inv?.containers.contains(uid) == true {
            logger.notice("container of replica ended while the agent was away; starting it again", metadata: ["replica": "\(uid)"])
        }
        inventory.withLock { inv in
            inv?.running[uid] = nil
            inv?.records[uid] = nil
        }
        if replica.metadata.deletionTimestamp != nil {
            runner.requestStop(finalize: true, reason: "deletion requested")
        }
        runners.withLock { $0[uid] = runner }
        Task {
            await runner.run()
            _ = self.runners.withLock { r in
                if r[uid] === runner { r.removeValue(forKey: uid) }
            }
        }
    }

    /// Containers, sandboxes and records from before that no bound replica wants: stopped and removed.
    func removeLeftovers(desired: Set<String>) async {
        guard let inv = inventory.withLock({ $0 }) else { return }
        let stale = inv.containers.union(inv.records.keys).subtracting(desired)
        for uid in stale {
            logger.notice("removing a container no replica wants", metadata: ["container": "\(uid)"])
            if inv.running[uid] != nil {
                await context.driver.signal(uid, SIGKILL)
            }
            await context.driver.removeContainer(uid)
            let record = inv.records[uid]
            await context.driver.tearDownNetwork(
                netns: record?.netns ?? context.namer.netns(uid), hostVeth: record?.hostVeth ?? context.namer.hostVeth(uid))
            await context.driver.removeLog(uid)
            context.driver.removeSecretFiles(uid)
            ReplicaRecord.remove(uid: uid, from: context.recordsDir)
        }
        inventory.withLock { $0 = nil }
    }

    /// A new version of a secret → every runner of its project that mounts it; false if any could not write it.
    func deliver(_ key: NodeSecrets.Key, _ data: [String: [UInt8]]) async -> Bool {
        let users = all.filter { r in
            r.project == key.project && (r.snapshot.replica.spec.secrets ?? []).contains { $0.name == key.name }
        }
        var ok = true
        for runner in users {
            if !(await runner.deliverSecret(key.name, data)) { ok = false }
        }
        return ok
    }

    /// Log rotation every few seconds.
    func housekeeping() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            for uid in runners.withLock({ Array($0.keys) }) { await context.driver.rotateLog(uid) }
        }
    }

    /// Stops every runner's loop without stopping containers (agent shutdown: containers keep running and are
    /// re-adopted by the next agent).
    var all: [ReplicaRunner] { runners.withLock { Array($0.values) } }

    func runner(project: String, name: String) -> ReplicaRunner? {
        runners.withLock { $0.values.first { $0.project == project && $0.name == name } }
    }

    func phases() -> [String: Int] {
        var counts: [String: Int] = [:]
        for r in all {
            let phase = r.status()["phase"]?.stringValue ?? "Unknown"
            counts[phase, default: 0] += 1
        }
        return counts
    }

    func imagesInUse() -> Set<String> { Set(all.compactMap { $0.snapshot.imageDigest }) }

    func state() -> JSONValue {
        let list: [JSONValue] = all.sorted { ($0.project, $0.name) < ($1.project, $1.name) }.map { r in
            var s = r.status()
            s["replica"] = .string("\(r.project)/\(r.name)")
            s["state"] = .string(Self.describe(r.state))
            if case .running(let pid, _) = r.state { s["pid"] = .number(Double(pid)) }
            return s
        }
        var out: JSONValue = ["runners": .array(list), "secretWatch": secrets.state()]
        for (k, v) in replicas.watchState.objectValue ?? [:] { out[k] = v }
        return out
    }

    static func describe(_ state: ReplicaRunner.State) -> String {
        switch state {
        case .starting(let r): "starting(\(r))"
        case .running(let pid, let since): "running(pid \(pid) since \(since.rfc3339))"
        case .backingOff(_, let r, let m): "backingOff(\(r): \(m))"
        case .finished(let p, let code): "finished(\(p.rawValue), exit \(code.map(String.init) ?? "unknown"))"
        case .terminating: "terminating"
        case .removed: "removed"
        }
    }
}
