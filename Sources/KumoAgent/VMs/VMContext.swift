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
