import KumoModel

/// The network of a local cloud, defined once for `make run` and the E2E tests: hosts in network namespaces on an
/// underlay bridge, which lives in a namespace of its own, and the root namespace joined to that bridge.
///
/// Addresses are one /28 of 192.0.2.0/24, block `b` being 192.0.2.(16b)/28: the server (root namespace) at .16b+1,
/// host N at .16b+1+N. Never block 0: this machine itself may sit on 192.0.2.0/24 (eth0 192.0.2.2, its gateway at
/// .1), and the more specific /28 route keeps the two apart. Tests take blocks 1–13 (one per cloud, held by a
/// lock); `make run` owns block 14, 192.0.2.224/28: the server at .225, node-N at .225+N.
///
/// Names all start with `prefix`: the underlay namespace `<prefix>ul` (bridge `br0`), the root namespace's veth
/// `<prefix>0` ↔ `<prefix>0u` (a port of `br0`), host N's namespace `<prefix>hN` with `eth0`, its peer
/// `<prefix>hNu` a port of `br0`.
public struct NetnsTopology: Sendable, Equatable {
    public var prefix: String
    public var block: Int
    public var hosts: Int

    /// At most 13 hosts fit in a /28 next to the server.
    public static let maxHosts = 13

    public init(prefix: String, block: Int, hosts: Int) {
        self.prefix = prefix
        self.block = block
        self.hosts = hosts
    }

    /// `make run`'s: prefix `kumo-`, 192.0.2.224/28.
    public static func makeRun(prefix: String = "kumo-", hosts: Int) -> NetnsTopology {
        NetnsTopology(prefix: prefix, block: 14, hosts: hosts)
    }

    public var network: String { "192.0.2.\(block * 16)/28" }
    public var serverIP: String { "192.0.2.\(block * 16 + 1)" }
    public func hostIP(_ i: Int) -> String { "192.0.2.\(block * 16 + 1 + i)" }
    public var underlay: String { prefix + "ul" }
    public func host(_ i: Int) -> String { prefix + "h\(i)" }
    /// Host `i`'s end on the underlay bridge (down = the host is cut off).
    public func hostLink(_ i: Int) -> String { host(i) + "u" }
    /// The root namespace's veth into the underlay.
    public var rootLink: String { prefix + "0" }

    /// What `create` runs, in order (argv arrays).
    public var createCommands: [[String]] {
        let mask = "/28"
        var commands = [
            ["ip", "netns", "add", underlay],
            ["ip", "-n", underlay, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", underlay, "link", "set", "br0", "up"],
            ["ip", "link", "add", rootLink, "type", "veth", "peer", "name", rootLink + "u", "netns", underlay],
            ["ip", "addr", "add", serverIP + mask, "dev", rootLink],
            ["ip", "link", "set", rootLink, "up"],
            ["ip", "-n", underlay, "link", "set", rootLink + "u", "master", "br0", "up"],
        ]
        for i in stride(from: 1, through: hosts, by: 1) {
            commands += [
                ["ip", "netns", "add", host(i)],
                ["ip", "link", "add", hostLink(i), "type", "veth", "peer", "name", "eth0", "netns", host(i)],
                ["ip", "link", "set", hostLink(i), "netns", underlay],
                ["ip", "-n", underlay, "link", "set", hostLink(i), "master", "br0", "up"],
                ["ip", "-n", host(i), "addr", "add", hostIP(i) + mask, "dev", "eth0"],
                ["ip", "-n", host(i), "link", "set", "eth0", "up"],
                ["ip", "-n", host(i), "link", "set", "lo", "up"],
            ]
        }
        return commands
    }

    /// What `destroy` runs: every host namespace (their veths go with them), the underlay, the root link.
    public var destroyCommands: [[String]] {
        stride(from: 1, through: hosts, by: 1).map { ["ip", "netns", "del", host($0)] } + [
            ["ip", "netns", "del", underlay], ["ip", "link", "del", rootLink],
        ]
    }

    /// Builds the namespaces and links; throws at the first step that fails (naming it).
    public func create() throws {
        for argv in createCommands { try LocalCloud.sh(argv) }
    }

    /// Removes whatever of it exists.
    public func destroy() {
        for argv in destroyCommands { _ = try? LocalCloud.sh(argv, check: false) }
    }

    /// Cuts host `i` off the underlay (`up: false`) or joins it again.
    public func setLink(_ i: Int, up: Bool) throws {
        try LocalCloud.sh(["ip", "-n", underlay, "link", "set", hostLink(i), up ? "up" : "down"])
    }
}
