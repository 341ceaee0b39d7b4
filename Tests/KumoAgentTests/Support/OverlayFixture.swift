import Foundation
import KumoAgent
import KumoModel
import KumoSystem
import KumoTestSupport
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Throwaway overlay hosts for root tests: an underlay namespace `<prefix>-ul` with bridge `ul0`, and per host a
/// namespace `<prefix>-<x>` whose `eth0` (underlay, 192.0.2.160/28 — never .1/.2, which the machine's own eth0 and
/// gateway may use) is a veth into `ul0`, with `kumo0` (HostBridge), a pod (PodNetwork) and `kumo.1`. Nothing is
/// added to the root namespace. Every name carries a prefix unique to this process and fixture
/// (`ko<pid%10000><n>`), and `cleanup()` deletes every namespace under it — pods, hosts, underlay, and with them
/// every veth, bridge and VXLAN device — whether the test passed or not (`with` calls it on every path).
final class OverlayFixture: AsyncFixture, Sendable {
    static let counter = Atomic<Int>(0)

    static var canRun: Bool {
        getuid() == 0 && programExists("ip") && programExists("bridge") && programExists("ping")
    }

    /// One "node".
    struct Host: Sendable {
        var node: String
        var netns: String
        var underlayIP: IPv4Address
        var podCIDR: IPv4Network
        var kernel: OverlayKernel
        var pod: PodInterface?
        var peer: OverlayPeer {
            OverlayPeer(node: node, podCIDR: podCIDR, publicIP: underlayIP, vtepMAC: OverlayPeer.vtepMAC(forNode: node))
        }
    }

    static let clusterCIDR = IPv4Network("10.244.0.0/16")!

    let prefix: String
    let underlay: String
    let logger: Logger

    private init(prefix: String, logger: Logger) {
        self.prefix = prefix
        self.underlay = prefix + "-ul"
        self.logger = logger
    }

    /// Runs `body` with a fresh underlay and always cleans up afterwards.
    static func with<T>(_ body: (OverlayFixture) async throws -> T) async throws -> T {
        let n = counter.add(1, ordering: .relaxed).newValue
        var logger = Logger(label: "kumo.test.overlay")
        logger.logLevel = .warning
        let fixture = OverlayFixture(prefix: "ko\(getpid() % 10000)\(String(n, radix: 36))", logger: logger)
        return try await fixture.run(body)
    }

    func setUp() async throws {
        try await Command().check(["ip", "netns", "add", underlay])
        try await Command().check(["ip", "-n", underlay, "link", "add", "ul0", "type", "bridge"])
        try await Command().check(["ip", "-n", underlay, "link", "set", "dev", "ul0", "up"])
    }

    /// Host `letter` (a, b, …) number `index` (1…13): underlay 192.0.2.(160+index)/28, pods 10.244.<index>.0/24,
    /// `kumo.1` created, and a pod at .10 when `withPod`.
    func addHost(_ letter: String, index: UInt32, withPod: Bool = true) async throws -> Host {
        precondition((1...13).contains(index), "underlay block is 192.0.2.160/28")
        let netns = "\(prefix)-\(letter)"
        let underlayIP = IPv4Address(0xc000_02a0 + index)
        let podCIDR = IPv4Network(address: IPv4Address(0x0af4_0000 | index << 8), prefixLength: 24)!
        let node = "\(prefix)-node-\(letter)"
        let c = Command()
        try await c.check(["ip", "netns", "add", netns])
        try await c.check(["ip", "-n", netns, "link", "set", "dev", "lo", "up"])
        // The underlay end is named in the underlay namespace; the host end is created directly as eth0 inside.
        let port = "\(prefix)\(letter)"
        try await c.check(["ip", "-n", underlay, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns])
        try await c.check(["ip", "-n", underlay, "link", "set", "dev", port, "master", "ul0", "up"])
        try await c.check(["ip", "-n", netns, "address", "add", "\(underlayIP)/28", "dev", "eth0"])
        try await c.check(["ip", "-n", netns, "link", "set", "dev", "eth0", "up"])

        try await HostBridge(podCIDR: podCIDR, logger: logger).ensure(hostNetns: netns)
        let kernel = try OverlayKernel(logger: logger)
        try await kernel.ensureDevice(
            mac: OverlayPeer.vtepMAC(forNode: node), localIP: underlayIP, underlayDevice: "eth0", mtu: 1450,
            address: podCIDR.address, hostNetns: netns)
        var host = Host(node: node, netns: netns, underlayIP: underlayIP, podCIDR: podCIDR, kernel: kernel)
        if withPod {
            let address = IPv4Address(podCIDR.address.value + 10)
            let pod = PodInterface(
                netns: try PodNetwork.netnsName(prefix: prefix, uid: node), hostVeth: PodNetwork.hostVethName(uid: node),
                address: address, prefixLength: 24, gateway: IPv4Address(podCIDR.address.value + 1),
                mac: address.mac(prefix: (0x02, 0x6c)))
            try await PodNetwork(logger: logger).setUp(pod, hostNetns: netns)
            host.pod = pod
        }
        return host
    }

    /// Reads the host's kernel state and plans towards `peers` (the host's own entry is skipped by name).
    func plan(_ host: Host, peers: [OverlayPeer]) async throws -> OverlayPlan {
        let actual = try await host.kernel.read(hostNetns: host.netns)
        return OverlayDiff.plan(
            desired: OverlayDiff.desired(peers: [host.peer] + peers, localNode: host.node), actual: actual,
            device: host.kernel.device, clusterCIDR: Self.clusterCIDR, localSubnet: host.podCIDR)
    }

    /// One ping from `from`'s pod to `to`'s pod; true when answered.
    func ping(from: Host, to: Host, size: Int? = nil) async throws -> Bool {
        guard let src = from.pod, let dst = to.pod else { return false }
        var argv = ["ip", "netns", "exec", src.netns, "ping", "-c1", "-W1"]
        if let size { argv += ["-M", "do", "-s", String(size)] }
        return try await Command().run(argv + [dst.address.description]).succeeded
    }

    /// Deletes every namespace under the prefix (pods, hosts, underlay); never throws, logs what it could not.
    func cleanup() async {
        var problems: [String] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: PodNetwork.netnsDirectory)) ?? []
        for name in names where name.hasPrefix(prefix + "-") {
            if let r = try? await Command().run(["ip", "netns", "del", name]), !r.succeeded {
                problems.append("ip netns del \(name): \(r.stderr)")
            }
        }
        if !problems.isEmpty { logger.error("overlay fixture cleanup left things behind", metadata: ["problems": "\(problems)"]) }
    }

    /// Names of namespaces still present under `prefix`.
    static func leftovers(prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: PodNetwork.netnsDirectory)) ?? [])
            .filter { $0.hasPrefix(prefix + "-") }
    }
}
