import Foundation
import KumoModel
import KumoSystem
import Logging

/// The node's pod bridge (`kumo0` by default): every replica's veth and every VM's tap is a port of it, and its
/// address — the pod CIDR's `.1` — is their default gateway. `ensure` is idempotent and cheap enough to call
/// on every agent start and periodic check: one `ip link show`, one `ip -batch`, one sysctl write.
public struct HostBridge: Sendable {
    public let name: String
    public let podCIDR: IPv4Network
    public let mtu: Int
    let command: Command
    let logger: Logger

    public init(
        name: String = "kumo0", podCIDR: IPv4Network, mtu: Int = 1450, command: Command = Command(), logger: Logger
    ) throws(KumoError) {
        try SafeName.checkInterface(name)
        guard podCIDR.prefixLength <= 30 else {
            throw KumoError(.invalid, "invalid pod CIDR \(podCIDR): needs room for a gateway and pods")
        }
        guard (68...65535).contains(mtu) else { throw KumoError(.invalid, "invalid MTU \(mtu)") }
        self.name = name
        self.podCIDR = podCIDR
        self.mtu = mtu
        self.command = command
        self.logger = logger
    }

    /// The gateway: the first address of the pod CIDR.
    public var gateway: IPv4Address { IPv4Address(podCIDR.address.value + 1) }

    /// Makes sure the bridge exists, has the gateway address, the MTU, is up, and that the namespace forwards
    /// IPv4. `hostNetns` nil = the current namespace is the host.
    public func ensure(hostNetns: String? = nil) async throws(KumoError) {
        let ip = IPCommand(command: command, netns: hostNetns)
        var lines: [String] = []
        do throws(KumoError) {
            let shown = try await ip.check(["-d", "-j", "link", "show", "dev", name], what: "failed to look up bridge \(name)")
            // An interface of the same name that is not a bridge is someone else's: refuse rather than take over.
            if !shown.contains("\"info_kind\":\"bridge\"") {
                throw KumoError(.conflict, "failed to set up bridge \(name): an interface of that name exists and is not a bridge")
            }
        } catch where error.code == .notFound {
            lines.append("link add \(name) mtu \(mtu) type bridge")
        }
        lines.append("link set dev \(name) mtu \(mtu) up")
        lines.append("address replace \(gateway)/\(podCIDR.prefixLength) dev \(name)")
        try await ip.batch(lines, what: "failed to set up bridge \(name)")
        try await enableForwarding(hostNetns: hostNetns)
        logger.debug("bridge ready", metadata: ["bridge": "\(name)", "gateway": "\(gateway)/\(podCIDR.prefixLength)"])
    }

    /// `net.ipv4.ip_forward=1`: new namespaces start with 0, and without it pods only reach the node itself.
    func enableForwarding(hostNetns: String?) async throws(KumoError) {
        if let hostNetns {
            try await command.check(["ip", "netns", "exec", hostNetns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            return
        }
        let current = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)) ?? ""
        if current.hasPrefix("1") { return }
        do {
            try "1\n".write(toFile: "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        } catch {
            throw KumoError(.internal, "failed to enable IPv4 forwarding: \(error)", cause: error)
        }
    }
}
