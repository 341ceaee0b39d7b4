/// Everything that tells one local cloud from another, as values: its network, where its files go, its node
/// names and its daemons' flags. `LocalCloud` builds either kind from it: an E2E test's (`test`) or `make run`'s
/// (`makeRun`, whose names and paths are a documented interface: README, docs/operations.md).
public struct CloudLayout: Sendable, Equatable {
    public var topology: NetnsTopology
    /// The cloud's directory: CLI config, join token, logs, the server's and every agent's data.
    public var dir: String
    /// The `kumo` binary.
    public var kumo: String
    /// Node N is `<nodeNamePrefix>N`.
    public var nodeNamePrefix: String
    public var serverDataDir: String
    public var serverLog: String
    public var serverPort = 7480
    /// `--log-level` for the server (nil: its default).
    public var serverLogLevel: String?
    public var serverArguments: [String] = []
    public var agentMemory: String
    public var agentLogLevel: String
    public var agentArguments: [String] = []
    /// The join token's `--name` (nil: none).
    public var joinTokenName: String?

    public init(
        topology: NetnsTopology, dir: String, kumo: String, nodeNamePrefix: String, serverDataDir: String,
        serverLog: String, serverLogLevel: String?, agentMemory: String, agentLogLevel: String
    ) {
        self.topology = topology
        self.dir = dir
        self.kumo = kumo
        self.nodeNamePrefix = nodeNamePrefix
        self.serverDataDir = serverDataDir
        self.serverLog = serverLog
        self.serverLogLevel = serverLogLevel
        self.agentMemory = agentMemory
        self.agentLogLevel = agentLogLevel
    }

    /// An E2E test's cloud: its own prefix and block, node names `<prefix>-nN`, a server that declares a node
    /// lost after 6 s.
    public static func test(prefix: String, block: Int, dir: String, agents: Int) -> CloudLayout {
        var layout = CloudLayout(
            topology: NetnsTopology(prefix: prefix, block: block, hosts: agents), dir: dir, kumo: KumoBinary.path,
            nodeNamePrefix: prefix + "-n", serverDataDir: dir + "/server", serverLog: dir + "/server.log",
            serverLogLevel: "warning", agentMemory: "1Gi", agentLogLevel: "info")
        layout.serverArguments = ["--node-grace-seconds", "6"]
        return layout
    }

    /// `make run`'s cloud: prefix `kumo-`, 192.0.2.224/28, the server at https://192.0.2.225:7480 with its data in
    /// `DIR/data`, nodes `node-N` whose agents listen on 0.0.0.0:7481.
    public static func makeRun(
        dir: String, agents: Int, kumo: String, prefix: String = "kumo-", agentLogLevel: String = "info"
    ) -> CloudLayout {
        var layout = CloudLayout(
            topology: .makeRun(prefix: prefix, hosts: agents), dir: dir, kumo: kumo, nodeNamePrefix: "node-",
            serverDataDir: dir + "/data", serverLog: dir + "/server.log", serverLogLevel: nil, agentMemory: "2Gi",
            agentLogLevel: agentLogLevel)
        layout.agentArguments = ["--listen", "0.0.0.0:7481"]
        layout.joinTokenName = "local-agents"
        return layout
    }

    public var agentCount: Int { topology.hosts }
    public var serverURL: String { "https://\(topology.serverIP):\(serverPort)" }
    public var configPath: String { dir + "/config" }
    public var joinTokenPath: String { dir + "/join.token" }
    public func nodeName(_ i: Int) -> String { nodeNamePrefix + "\(i)" }
    public func agentDir(_ i: Int) -> String { dir + "/agent-\(i)" }
    public func agentLog(_ i: Int) -> String { dir + "/agent-\(i).log" }

    /// Agent `i`: `kumo agent` in host `i`'s network namespace. `nsenter --net`, not `ip netns exec`: the latter
    /// gives the agent a private mount namespace, so the pod namespaces it names under /run/netns would vanish
    /// with it and a restarted agent could not find them. The join token pins the cluster CA (K10<sha256>::…):
    /// the agent checks the server against it before it sends the token.
    public func agent(_ i: Int) -> DaemonSpec {
        let argv =
            [
                "nsenter", "--net=/run/netns/\(topology.host(i))", kumo, "agent", "--server", serverURL,
                "--join-token-file", joinTokenPath, "--name", nodeName(i), "--data-dir", agentDir(i), "--runc-root",
                agentDir(i) + "/runc", "--cpu", "2", "--memory", agentMemory, "--label", "zone=zone-\((i - 1) % 2 + 1)",
            ] + agentArguments + ["--log-level", agentLogLevel]
        return DaemonSpec(name: "agent-\(i)", argv: argv, log: agentLog(i), needsRoot: true)
    }

    /// `kumo agent reset` for node `i`: its containers, pod namespaces, VMs, HAProxy, dnsmasq, mounts, cgroups.
    public func agentReset(_ i: Int) -> [String] {
        [kumo, "agent", "reset", "--name", nodeName(i), "--data-dir", agentDir(i), "--runc-root", agentDir(i) + "/runc"]
    }
}
