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

/// A throwaway node for runtime tests: its own "host" network namespace with a bridge, a busybox image rootfs,
/// bundle/log directories and a runc root in a temp dir, and a cgroup parent of its own. Every name carries a
/// prefix unique to this process and fixture (`kt<pid%10000><n>`), so parallel runs never clash, and
/// `cleanup()` removes all of it — containers, mounts, namespaces, veths, cgroups, files — whether the test
/// passed or not (`RuntimeFixture.with` calls it on every path).
final class RuntimeFixture: AsyncFixture, Sendable {
    static let counter = Atomic<Int>(0)

    /// Root, runc, ip and busybox: without them these tests cannot run here.
    static var canRun: Bool {
        getuid() == 0 && programExists("runc") && programExists("ip") && access("/usr/bin/busybox", X_OK) == 0
    }

    static let applets = ["sh", "echo", "sleep", "cat", "hostname", "touch", "ls", "true", "dd", "head", "wc", "mkdir"]

    let prefix: String
    let hostNetns: String
    let dir: String
    let imageRootfs: String
    let runc: Runc
    let bundles: BundleDirectory
    let logs: String
    let cgroupParent: String
    let bridge: HostBridge
    let network: PodNetwork
    let logger: Logger
    let podCIDR: IPv4Network

    private init(prefix: String, dir: String, logger: Logger) throws {
        self.prefix = prefix
        self.hostNetns = prefix + "-host"
        self.dir = dir
        self.imageRootfs = dir + "/image/rootfs"
        self.logs = dir + "/logs"
        self.cgroupParent = "kumo-test-" + prefix
        self.logger = logger
        self.runc = Runc(root: dir + "/runc", logger: logger)
        self.bundles = BundleDirectory(root: dir + "/bundles", logger: logger)
        let cidr = IPv4Network("10.244.77.0/24")!
        self.podCIDR = cidr
        self.bridge = try HostBridge(podCIDR: cidr, logger: logger)
        self.network = try PodNetwork(logger: logger)
    }

    /// Runs `body` with a fresh fixture and always cleans up afterwards.
    static func with<T>(_ body: (RuntimeFixture) async throws -> T) async throws -> T {
        let n = counter.add(1, ordering: .relaxed).newValue
        let prefix = "kt\(getpid() % 10000)\(String(n, radix: 36))"
        var template = Array("/tmp/kumo-\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw KumoError(.internal, "failed to make a temp dir")
        }
        let dir = String(cString: made)
        var logger = Logger(label: "kumo.test.runtime")
        logger.logLevel = .info
        let fixture = try RuntimeFixture(prefix: prefix, dir: dir, logger: logger)
        return try await fixture.run(body)
    }

    func setUp() async throws {
        let fm = FileManager.default
        for sub in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
            try fm.createDirectory(atPath: imageRootfs + "/" + sub, withIntermediateDirectories: true)
        }
        try fm.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try fm.copyItem(atPath: "/usr/bin/busybox", toPath: imageRootfs + "/bin/busybox")
        for applet in Self.applets {
            try fm.createSymbolicLink(atPath: imageRootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try await Command().check(["ip", "netns", "add", hostNetns])
        try await Command().check(["ip", "-n", hostNetns, "link", "set", "dev", "lo", "up"])
        try await bridge.ensure(hostNetns: hostNetns)
    }

    /// A pod interface for replica `uid` at host number `host` of the pod CIDR.
    func pod(uid: String, host: UInt32) throws -> PodInterface {
        let address = IPv4Address(podCIDR.address.value + host)
        return PodInterface(
            netns: try PodNetwork.netnsName(prefix: prefix, uid: uid), hostVeth: PodNetwork.hostVethName(uid: uid + prefix),
            address: address, prefixLength: podCIDR.prefixLength, gateway: bridge.gateway, mac: address.mac(prefix: (0x02, 0x6c)))
    }

    /// A bundle spec for container `id` in this fixture's cgroup parent.
    func spec(id: String, args: [String], netnsPath: String? = nil, memoryBytes: Int64? = nil) -> BundleSpec {
        BundleSpec(
            id: id, args: args, env: ["KUMO_TEST=1"], hostname: "pod-" + id.lowercased(), netnsPath: netnsPath,
            cpuMillicores: 500, memoryBytes: memoryBytes, pidsLimit: 64, cgroupsPath: "/\(cgroupParent)/\(id)")
    }

    /// Removes everything the fixture (or a failed test) may have left. Never throws: it records what it could
    /// not remove, so a broken cleanup is visible instead of silently leaking.
    func cleanup() async {
        var problems: [String] = []
        // 1. Containers under our own runc root.
        if let states = try? await runc.list() {
            for s in states {
                do { try await runc.delete(s.id, force: true) } catch { problems.append("\(error)") }
            }
        }
        // 2. Bundles (unmounts overlays).
        if let ids = try? FileManager.default.contentsOfDirectory(atPath: bundles.root) {
            for id in ids {
                do { try bundles.remove(id: id) } catch { problems.append("\(error)") }
            }
        }
        for point in BundleDirectory.mountPoints(under: dir).sorted(by: { $0.count > $1.count }) {
            umount2(point, Int32(MNT_DETACH))
        }
        // 3. Namespaces named with our prefix (pods and the host, which takes the bridge and veths along).
        if let names = try? FileManager.default.contentsOfDirectory(atPath: PodNetwork.netnsDirectory) {
            for name in names where name.hasPrefix(prefix + "-") {
                if let r = try? await Command().run(["ip", "netns", "del", name]), !r.succeeded {
                    problems.append("ip netns del \(name): \(r.stderr)")
                }
            }
        }
        // 4. Our cgroup parent in every v1 hierarchy (runc delete removes the containers' own).
        do { try Cgroups.remove("/" + cgroupParent) } catch { problems.append("\(error)") }
        // 5. Files.
        do { try FileManager.default.removeItem(atPath: dir) } catch { problems.append("rm \(dir): \(error)") }
        if !problems.isEmpty { logger.error("fixture cleanup left things behind", metadata: ["problems": "\(problems)"]) }
    }
}
