import Foundation
import KumoSystem
import Synchronization

/// Gives every VM of a node its own QEMU user (`QEMUConfinement`), so an escaped QEMU cannot signal or trace
/// another VM's. The uid is derived from the instance uid (stable, easy to follow in `ps`), moved on past any
/// uid another VM on the node holds — by its record (`record.json`, across agent restarts) or by a reservation
/// made here (between QEMU's start and the record being written) — and kept in the VM's record.
final class QEMUUsers: Sendable {
    /// One per process: the VMs of a node share the range.
    static let shared = QEMUUsers()

    private let reserved = Mutex<[String: UInt32]>([:])

    /// The user for instance `uid` under `vmsDir`: the one it has (reserved or recorded), else a free one.
    func user(for uid: String, vmsDir: String) -> UInt32 {
        reserved.withLock { reserved in
            if let user = reserved[uid] { return user }
            let recorded = Self.recordedUsers(vmsDir: vmsDir)
            if let user = recorded[uid] {
                reserved[uid] = user
                return user
            }
            let taken = Set(reserved.values).union(recorded.values)
            let user = Self.pick(for: uid, taken: taken)
            reserved[uid] = user
            return user
        }
    }

    /// The VM is gone: its user may go to another.
    func release(_ uid: String) {
        _ = reserved.withLock { $0.removeValue(forKey: uid) }
    }

    /// The first free user from the one the instance uid hashes to (the probe's user is never handed out).
    static func pick(for uid: String, taken: Set<UInt32>) -> UInt32 {
        let span = QEMUConfinement.userCount - 1
        let digest = FileDigest.sha256(of: Array(uid.utf8)).dropFirst("sha256:".count).prefix(8)
        var offset = (UInt32(digest, radix: 16) ?? 0) % span
        for _ in 0..<span {
            let user = QEMUConfinement.firstUser + 1 + offset
            if !taken.contains(user) { return user }
            offset = (offset + 1) % span
        }
        return QEMUConfinement.firstUser + 1 + offset  // a million VMs on one node: share
    }

    /// The users recorded by the VMs under `vmsDir`, by instance uid.
    static func recordedUsers(vmsDir: String) -> [String: UInt32] {
        var out: [String: UInt32] = [:]
        for uid in (try? FileManager.default.contentsOfDirectory(atPath: vmsDir)) ?? [] {
            if let user = InstanceRecord.load(VMPaths(root: vmsDir, uid: uid).record)?.qemuUser { out[uid] = user }
        }
        return out
    }
}
