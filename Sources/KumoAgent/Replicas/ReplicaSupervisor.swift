import Foundation
import KumoAPI
import KumoModel
import Logging
import Synchronization

/// Keeps this node's containers equal to the replicas bound to it: lists and watches them
/// (`fieldSelector=spec.nodeName=<node>`), starts a runner per replica, stops runners whose replica was
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
    private let watchState = Mutex<(revision: Int64, relists: Int, lastError: String?)>((0, 0, nil))

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
            group.addTask {
                var first = true
                while !Task.isCancelled {
                    do {
                        let (items, revision) = try await self.context.api.listReplicas()
                        self.watchState.withLock {
                            $0.revision = revision
                            $0.relists += 1
                            $0.lastError = nil
                        }
                        let desired = Set(items.compactMap { $0["metadata"]?["uid"]?.stringValue })
                        for item in items { self.reconcile(item, deleted: false) }
                        // replicas we run that the list no longer has were deleted while we were not watching
                        for (uid, runner) in self.runners.withLock({ $0 }) where !desired.contains(uid) {
                            runner.requestStop(finalize: false, reason: "replica no longer bound to this node")
                        }
                        if first {
                            await self.removeLeftovers(desired: desired)
                            first = false
                        }
                        let stream = try await self.context.api.watchReplicas(since: revision)
                        for try await event in stream {
                            self.reconcile(event.object, deleted: event.type == "DELETED")
                            if let rv = event.object["metadata"]?["resourceVersion"]?.stringValue, let r = Int64(rv) {
                                self.watchState.withLock { $0.revision = r }
                            }
                        }
                    } catch {
                        let message = (error as? KumoError)?.message ?? "\(error)"
                        self.watchState.withLock { $0.lastError = message }
                        self.logger.warning("replica watch ended; listing again", metadata: ["error": "\(message)"])
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            await group.waitForAll()
        }
    }

    /// One replica object as seen in a list or watch event → start, update or stop its runner.
    func reconcile(_ object: JSONValue, deleted: Bool) {
        guard let replica = try? decode(object, as: Replica.self), let uid = replica.metadata.uid else { return }
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
        let w = watchState.withLock { $0 }
        let list: [JSONValue] = all.sorted { ($0.project, $0.name) < ($1.project, $1.name) }.map { r in
            var s = r.status()
            s["replica"] = .string("\(r.project)/\(r.name)")
            s["state"] = .string(Self.describe(r.state))
            if case .running(let pid, _) = r.state { s["pid"] = .number(Double(pid)) }
            return s
        }
        return [
            "runners": .array(list), "watchRevision": .string(String(w.revision)), "relists": .number(Double(w.relists)),
            "watchError": w.lastError.map { .string($0) } ?? .null, "secretWatch": secrets.state(),
        ]
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
