import Crypto
import Foundation
import KumoModel
import KumoSystem
import Logging

/// What one replica's network looks like: its namespace, the host end of its veth, and the address, MAC and
/// gateway of the `eth0` inside.
public struct PodInterface: Sendable, Hashable {
    /// Network namespace name (`/run/netns/<netns>`).
    public var netns: String
    /// Host end of the veth pair, a port of the bridge (≤ 15 characters).
    public var hostVeth: String
    public var address: IPv4Address
    public var prefixLength: Int
    public var gateway: IPv4Address
    public var mac: String

    public init(netns: String, hostVeth: String, address: IPv4Address, prefixLength: Int, gateway: IPv4Address, mac: String) {
        self.netns = netns
        self.hostVeth = hostVeth
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.mac = mac
    }

    /// The path runc's config.json names as the container's network namespace.
    public var netnsPath: String { PodNetwork.netnsDirectory + "/" + netns }
}

/// Builds and removes a replica's network: a namespace, a veth pair whose host end joins the bridge and whose
/// other end is the namespace's `eth0`, its address and default route. Three `ip` processes in all (namespace,
/// one host batch, one namespace batch) instead of one per step, which is what made pods slow (DATAPATH.md).
/// Setting up again replaces whatever a crash left; tearing down what is missing is fine.
///
/// Mount namespaces matter: a named netns is a bind mount on `/run/netns/<name>`. An agent started with
/// `ip netns exec <host> kumo agent` lives in a private (slave) mount namespace, so the namespaces it creates are
/// visible only to it and its children (runc) and are lost to it when it restarts. Start the agent with
/// `nsenter --net=/run/netns/<host> kumo agent` instead (network namespace only, root mount namespace), which
/// was checked on this machine: the pod namespaces are then visible everywhere and survive agent restarts.
public struct PodNetwork: Sendable {
    public static let netnsDirectory = "/run/netns"

    public let bridge: String
    public let mtu: Int
    let command: Command
    let logger: Logger

    public init(bridge: String = "kumo0", mtu: Int = 1450, command: Command = Command(), logger: Logger) throws(KumoError) {
        try SafeName.checkInterface(bridge)
        guard (68...65535).contains(mtu) else { throw KumoError(.invalid, "invalid MTU \(mtu)") }
        self.bridge = bridge
        self.mtu = mtu
        self.command = command
        self.logger = logger
    }

    /// `kv` + the first 10 hex digits of sha256(uid): short enough for IFNAMSIZ, stable across agent restarts,
    /// and unrelated to the (possibly long) replica name.
    public static func hostVethName(uid: String) -> String {
        "kv" + hex(SHA256.hash(data: Data(uid.utf8)).prefix(5))
    }

    /// `<prefix>-` + 12 hex digits of sha256(uid): the replica's namespace name, unique per replica, under a
    /// caller-chosen prefix (`kumo`, or a test run's own) so everything of one agent can be found by name.
    public static func netnsName(prefix: String, uid: String) throws(KumoError) -> String {
        try SafeName.check(prefix, what: "netns prefix", maxLength: 40)
        return prefix + "-" + hex(SHA256.hash(data: Data(uid.utf8)).prefix(6))
    }

    /// Whether the namespace exists.
    public func exists(netns: String) -> Bool {
        guard SafeName.reason(netns) == nil else { return false }
        return FileManager.default.fileExists(atPath: Self.netnsDirectory + "/" + netns)
    }

    /// Creates the pod's network; a leftover namespace or veth under the same names is removed first.
    /// `hostNetns` nil = the current namespace is the host.
    public func setUp(_ pod: PodInterface, hostNetns: String? = nil) async throws(KumoError) {
        try validate(pod)
        if exists(netns: pod.netns) {
            logger.info("replacing leftover pod network", metadata: ["netns": "\(pod.netns)", "veth": "\(pod.hostVeth)"])
            try await tearDown(netns: pod.netns, hostVeth: pod.hostVeth, hostNetns: hostNetns)
        }
        do throws(KumoError) {
            try await create(pod, hostNetns: hostNetns)
        } catch {
            try? await tearDown(netns: pod.netns, hostVeth: pod.hostVeth, hostNetns: hostNetns)
            // A host veth that outlived its namespace makes `link add` fail; it is gone now, so try once more.
            guard error.code == .alreadyExists else { throw error }
            logger.info("replaced leftover veth", metadata: ["veth": "\(pod.hostVeth)"])
            do throws(KumoError) {
                try await create(pod, hostNetns: hostNetns)
            } catch {
                try? await tearDown(netns: pod.netns, hostVeth: pod.hostVeth, hostNetns: hostNetns)
                throw error
            }
        }
        logger.debug("pod network ready", metadata: ["netns": "\(pod.netns)", "ip": "\(pod.address)"])
    }

    /// The three processes: namespace, host-side batch, namespace-side batch.
    func create(_ pod: PodInterface, hostNetns: String?) async throws(KumoError) {
        try await IPCommand(command: command, netns: nil).check(["netns", "add", pod.netns], what: "failed to create netns \(pod.netns)")
        // The peer is created directly inside the pod's namespace as eth0 with its MAC: no window in which an
        // `eth0` would exist (and clash) in the host namespace.
        try await IPCommand(command: command, netns: hostNetns).batch(
            [
                "link add \(pod.hostVeth) mtu \(mtu) type veth peer name eth0 address \(pod.mac) mtu \(mtu) netns \(pod.netns)",
                "link set dev \(pod.hostVeth) master \(bridge) up",
            ], what: "failed to create veth \(pod.hostVeth) for \(pod.netns)")
        try await IPCommand(command: command, netns: pod.netns).batch(
            [
                "link set dev lo up",
                "link set dev eth0 up",
                "address add \(pod.address)/\(pod.prefixLength) dev eth0",
                "route add default via \(pod.gateway) dev eth0",
            ], what: "failed to configure eth0 in \(pod.netns)")
    }

    /// Deletes the host veth (which takes its peer along at once; a namespace's own devices would otherwise go
    /// only when the kernel gets round to freeing it) and the namespace. Missing pieces are fine.
    public func tearDown(netns: String, hostVeth: String, hostNetns: String? = nil) async throws(KumoError) {
        try SafeName.check(netns, what: "netns name", maxLength: 64)
        try SafeName.checkInterface(hostVeth)
        let ip = IPCommand(command: command, netns: hostNetns)
        do {
            try await ip.check(["link", "del", "dev", hostVeth], what: "failed to delete veth \(hostVeth)")
        } catch where error.code == .notFound {}
        if exists(netns: netns) {
            let result = try await command.run(["ip", "netns", "del", netns])
            if !result.succeeded && exists(netns: netns) {
                throw IPCommand.error("failed to delete netns \(netns)", result)
            }
        }
    }

    func validate(_ pod: PodInterface) throws(KumoError) {
        try SafeName.check(pod.netns, what: "netns name", maxLength: 64)
        try SafeName.checkInterface(pod.hostVeth)
        guard Self.isMAC(pod.mac) else { throw KumoError(.invalid, "invalid MAC \"\(pod.mac.prefix(40))\"") }
        guard (1...30).contains(pod.prefixLength) else {
            throw KumoError(.invalid, "invalid prefix length \(pod.prefixLength)")
        }
    }

    /// Six colon-separated pairs of hex digits, unicast (the low bit of the first byte clear).
    static func isMAC(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }),
            let first = UInt8(parts[0], radix: 16)
        else { return false }
        return first & 1 == 0
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
