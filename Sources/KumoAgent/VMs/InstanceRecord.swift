import Foundation
import KumoModel

/// What the agent remembers about a VM across its own restarts (`<vms>/<uid>/record.json`).
struct InstanceRecord: Codable, Sendable, Equatable {
    var uid: String
    var project: String
    var name: String
    var tap: String
    var mac: String
    var ip: String
    var accel: String
    /// The user its QEMU runs as (`QEMUConfinement`); nil in records of agents before confinement, or unconfined.
    var qemuUser: UInt32?

    static func load(_ path: String) -> InstanceRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? decode(jsonBytes: data, as: InstanceRecord.self)
    }

    func save(_ path: String) {
        let tmp = path + ".tmp"
        _ = FileManager.default.createFile(
            atPath: tmp, contents: Data(encodeJSON(self)), attributes: [.posixPermissions: 0o600])
        _ = rename(tmp, path)
    }
}
