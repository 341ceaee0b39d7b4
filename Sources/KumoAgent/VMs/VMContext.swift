import Foundation
import KumoModel
import Logging

/// What every instance runner of a node shares.
struct VMContext: Sendable {
    let api: AgentAPI
    let driver: VMDriver
    let images: VMImageStore
    let dnsmasq: DnsmasqSupervisor
    let accel: AccelProbe
    let node: String
    let vmsDir: String
    /// QEMU start → DHCP lease; longer = Failed (the kernel did not boot or brought no network up).
    let bootTimeout: Duration
    /// system_powerdown → exit; longer = killed.
    let stopTimeout: Duration
    let logger: Logger
}

/// What the agent remembers about a VM across its own restarts (`<vms>/<uid>/record.json`).
struct InstanceRecord: Codable, Sendable, Equatable {
    var uid: String
    var project: String
    var name: String
    var tap: String
    var mac: String
    var ip: String
    var accel: String

    static func load(_ path: String) -> InstanceRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(InstanceRecord.self, from: data)
    }

    func save(_ path: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return }
        let tmp = path + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: data, attributes: [.posixPermissions: 0o600])
        _ = rename(tmp, path)
    }
}
