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

    /// The empty directory confined QEMUs see as `/`: next to `vmsDir`, in the agent's data directory (not
    /// inside `vmsDir`, whose entries are VMs).
    var qemuRoot: String { QEMUConfinement.emptyRoot(dataDir: (vmsDir as NSString).deletingLastPathComponent) }

    /// How the QEMU of instance `uid` is confined: its own user, the empty root, seccomp — when the agent runs
    /// as root (as it must to give QEMU /dev/kvm and the tap); unconfined otherwise.
    func confinement(for uid: String) -> QEMUConfinement? {
        guard QEMUConfinement.available else { return nil }
        return QEMUConfinement(user: QEMUUsers.shared.user(for: uid, vmsDir: vmsDir), root: qemuRoot)
    }
}
