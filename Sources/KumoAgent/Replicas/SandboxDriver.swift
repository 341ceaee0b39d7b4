import KumoModel

/// Everything about one replica's container that the runner decides and the driver carries out.
public struct ContainerPlan: Sendable, Equatable {
    /// runc container id (the replica's uid: unique across projects and re-creations).
    public var id: String
    public var netns: String
    public var hostVeth: String
    public var ip: IPv4Address
    public var subnet: IPv4Network
    public var mac: String
    /// Unpacked image root (shared, never written: the container gets a writable layer over it).
    public var rootfs: String
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var hostname: String
    public var cpuMillicores: Int64?
    public var memoryBytes: Int64?
    /// Secret volumes: host directory (tmpfs, written by the agent) → path in the container.
    public var secretMounts: [SecretMount] = []
    /// The environment carries secret values: the bundle's config.json lives on the secrets tmpfs.
    public var envHasSecrets = false
    /// DNS search domains (`<project>.kumo`, `kumo`): a service is reachable as `<service>` inside its project.
    public var dnsSearch: [String] = []

    public var gateway: IPv4Address { IPv4Address(subnet.first.value + 1) }

    /// The container's /etc/resolv.conf: its node's dnsmasq (on the bridge gateway) answers `*.kumo`.
    public var resolvConf: String {
        var lines = ["# written by the kumo agent: service names are <service>.<project>.kumo", "nameserver \(gateway)"]
        if !dnsSearch.isEmpty { lines.append("search " + dnsSearch.joined(separator: " ")) }
        lines.append("options ndots:1 timeout:2 attempts:2")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Whether a container's main process is still there.
public enum ExitObservation: Sendable, Equatable {
    case running
    /// Exit code (128 + signal when killed); nil when unknown — the process was not the agent's child (adopted
    /// after an agent restart).
    case exited(Int32?)
}

/// The node-side seam of a replica: network sandbox, container, signals. The real one drives `ip` and `runc`
/// (`RuncSandboxDriver`); the runner's decisions stay independent of how.
public protocol SandboxDriver: Sendable {
    /// netns + veth into the node bridge with the plan's address. Idempotent (replaces leftovers).
    func setUpNetwork(_ plan: ContainerPlan) async throws(KumoError)
    /// A fresh container (writable layer over the image) started detached; returns its main process id.
    func startContainer(_ plan: ContainerPlan) async throws(KumoError) -> Int32
    func exitStatus(pid: Int32) -> ExitObservation
    func signal(_ id: String, _ signal: Int32) async
    /// Deletes the container and its bundle (not the network). Idempotent.
    func removeContainer(_ id: String) async
    /// Removes the network sandbox. Idempotent.
    func tearDownNetwork(netns: String, hostVeth: String) async
    /// Running containers under the agent's runc root: id → main pid.
    func runningContainers() async -> [String: Int32]
    /// All container ids under the agent's runc root, running or not.
    func allContainers() async -> [String]
    /// Runs a command inside a running container (exec probes); its exit status.
    func exec(_ id: String, _ argv: [String], timeout: Duration) async -> Int32
    /// Where the container's stdout/stderr go.
    func logPath(_ id: String) -> String
    func rotateLog(_ id: String) async
    func removeLog(_ id: String) async
    /// Writes a secret's keys as files (0400) into `directory` on the agent's tmpfs, replacing what was there.
    func writeSecretFiles(_ data: [String: [UInt8]], into directory: String) throws(KumoError)
    /// Removes a replica's secret files.
    func removeSecretFiles(_ id: String)
    /// Where a replica's secret `name` lives on the node.
    func secretDirectory(_ id: String, secret: String) -> String
}

/// A secret's files on the node (a tmpfs directory) and where the container sees them.
public struct SecretMount: Sendable, Equatable {
    public var secret: String
    public var hostDirectory: String
    public var mountPath: String
}
