import Foundation
import KumoModel
import KumoSystem
import Logging

extension NodeAgent {
    /// `kumo agent reset`: kills and removes every container under the agent's runc root, their network
    /// sandboxes, bundles, logs and records, and the node bridge. Returns how many containers there were.
    public static func reset(config: AgentConfiguration, logger: Logger) async throws(KumoError) -> Int {
        let driver = try RuncSandboxDriver(config: config, logger: logger)
        let records = ReplicaRecord.loadAll(from: config.recordsDir)
        let containers = await driver.allContainers()
        for id in containers {
            await driver.signal(id, SIGKILL)
            await driver.removeContainer(id)
        }
        let namer = SandboxNamer()
        for uid in Set(containers).union(records.map(\.uid)) {
            let record = records.first { $0.uid == uid }
            await driver.tearDownNetwork(netns: record?.netns ?? namer.netns(uid), hostVeth: record?.hostVeth ?? namer.hostVeth(uid))
            await driver.removeLog(uid)
            ReplicaRecord.remove(uid: uid, from: config.recordsDir)
        }
        // bundles of containers runc no longer knows (a crash between delete and clean-up)
        for id in (try? FileManager.default.contentsOfDirectory(atPath: config.bundlesDir)) ?? [] {
            await driver.removeContainer(id)
        }
        AccelProbe.killLeftover(pidFile: config.accelProbeDir + "/probe.pid")
        try? FileManager.default.removeItem(atPath: config.accelProbeDir)
        await InstanceSupervisor.reset(
            vmsDir: config.vmsDir,
            driver: VMDriver(hostNetns: config.hostNetns, bridge: config.bridge, mtu: config.mtu ?? 1450, logger: logger))
        await DnsmasqSupervisor.reset(directory: config.dnsmasqDir)
        await driver.removeNode()
        if let cidr = IPv4Network(config.serviceCIDR) {
            await LoadBalancerManager.reset(dir: config.haproxyDir, hostNetns: config.hostNetns, serviceCIDR: cidr)
        }
        return containers.count
    }
}
