import Foundation
import KumoInformers
import KumoModel
import Logging
import Synchronization

/// Keeps this node's VMs equal to the instances bound to it: follows them in an informer (`ObjectCache`,
/// `fieldSelector=spec.nodeName=<node>`), one `InstanceRunner` per instance; at start, VMs whose instance is
/// gone (deleted while the agent was away) are removed — QEMU, tap, DHCP entry, files.
final class InstanceSupervisor: Sendable {
    let context: VMContext
    private let runners = Mutex<[String: InstanceRunner]>([:])
    /// The instances bound to this node.
    let instances: ObjectCache<InstanceSpec>

    init(context: VMContext) {
        self.context = context
        self.instances = context.api.cache(
            of: InstanceSpec.self, boundHere: true, logger: context.logger.with(label: "kumo.informer.instances"))
    }

    func run() async {
        instances.onChange { change in self.reconcile(change.object, deleted: change.new == nil) }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.instances.run() }
            group.addTask {
                // once: VMs whose instance went while the agent was away
                guard await self.instances.waitForSync() else { return }
                await self.removeLeftovers(desired: Set(self.instances.list().compactMap(\.metadata.uid)))
            }
        }
    }

    func reconcile(_ instance: Instance, deleted: Bool) {
        guard let uid = instance.metadata.uid else { return }
        let existing = runners.withLock { $0[uid] }
        if let existing {
            if deleted { existing.objectDeleted() } else { existing.update(instance) }
            return
        }
        guard !deleted, instance.spec.nodeName == context.node, instance.spec.network != nil else { return }
        let runner = InstanceRunner(instance: instance, uid: uid, context: context)
        runners.withLock { $0[uid] = runner }
        Task {
            await runner.run()
            _ = self.runners.withLock { r in
                if r[uid] === runner { r.removeValue(forKey: uid) }
            }
        }
    }

    /// VM directories (and their QEMUs, taps, DHCP entries) no bound instance wants.
    func removeLeftovers(desired: Set<String>) async {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: context.vmsDir)) ?? []
        for uid in dirs where !desired.contains(uid) {
            let paths = VMPaths(root: context.vmsDir, uid: uid)
            context.logger.notice("removing a VM no instance wants", metadata: ["uid": "\(uid)"])
            if let pid = VMDriver.runningPid(pidFile: paths.pidFile) { await context.driver.kill(pid: pid, pidFile: paths.pidFile) }
            let record = InstanceRecord.load(paths.record)
            await context.driver.deleteTap(record?.tap ?? VMDriver.tapName(uid: uid))
            if let mac = record?.mac { try? await context.dnsmasq.removeHost(mac: mac) }
            try? FileManager.default.removeItem(atPath: paths.directory)
        }
    }

    func runner(project: String, name: String) async -> InstanceRunner? {
        for r in runners.withLock({ Array($0.values) }) where r.project == project && r.name == name { return r }
        return nil
    }

    func state() async -> JSONValue {
        var list: [JSONValue] = []
        for r in runners.withLock({ Array($0.values) }).sorted(by: { ($0.project, $0.name) < ($1.project, $1.name) }) {
            list.append(await r.snapshot())
        }
        var out: JSONValue = ["runners": .array(list), "accelerator": await context.accel.state()]
        for (k, v) in instances.watchState.objectValue ?? [:] { out[k] = v }
        return out
    }

    func phases() async -> [String: Int] {
        var counts: [String: Int] = [:]
        for r in runners.withLock({ Array($0.values) }) { counts[await r.phase.rawValue, default: 0] += 1 }
        return counts
    }

    /// `kumo agent reset`: every VM of the node: QEMU killed, taps deleted, files removed.
    static func reset(vmsDir: String, driver: VMDriver) async {
        for uid in (try? FileManager.default.contentsOfDirectory(atPath: vmsDir)) ?? [] {
            let paths = VMPaths(root: vmsDir, uid: uid)
            if let pid = VMDriver.runningPid(pidFile: paths.pidFile) { await driver.kill(pid: pid, pidFile: paths.pidFile, grace: .milliseconds(200)) }
            await driver.deleteTap(InstanceRecord.load(paths.record)?.tap ?? VMDriver.tapName(uid: uid))
        }
        for tap in await driver.allTaps() { await driver.deleteTap(tap) }
        try? FileManager.default.removeItem(atPath: vmsDir)
        rmdir(QEMUConfinement.emptyRoot(dataDir: (vmsDir as NSString).deletingLastPathComponent))
    }
}
