import Foundation
import KumoModel

/// Everything `kumo agent` is told at start. Defaults suit one agent per machine; `make run` and the tests run
/// several on one machine, each in its own network namespace, with their own capacity, directories and runc root.
public struct AgentConfiguration: Sendable {
    public static let version = "0.1.0"

    /// The API server, e.g. `http://192.0.2.1:7480`.
    public var server: String
    /// A join token (`kumo token create --join`); only needed until the node token is saved in `dataDir`.
    public var joinToken: String?
    /// A CA file to trust instead of the join token's hash (`kumo agent --ca`), e.g. for plain (non-K10) tokens.
    public var caFile: String?
    public var nodeName: String
    /// Node token, server credential, replica records, image cache, bundles, logs.
    public var dataDir: String
    /// Capacity reported to the scheduler (defaults: the machine's cpus and memory).
    public var cpuMillicores: Int
    public var memoryBytes: Int64
    public var labels: [String: String]
    /// Address the agent's HTTP endpoint listens on, and the one advertised to the server.
    public var listenHost: String
    public var listenPort: Int
    public var advertiseAddress: String?
    /// Node bridge and MTU (underlay − 50; nil: derived from the underlay interface).
    public var bridge: String
    public var mtu: Int?
    /// The pod network the overlay routes (the server's `--cluster-cidr`): routes in it on `kumo.1` that no peer
    /// explains are removed.
    public var clusterCIDR: String
    /// How often the overlay is checked against the kernel and repaired.
    public var overlayResync: Duration
    /// When set, host-side network operations run in this named network namespace (tests); normally the agent
    /// runs inside its host's namespace and this is nil.
    public var hostNetns: String?
    /// runc state directory (its own, so several agents and other runc users never see each other's containers).
    public var runcRoot: String
    /// cgroups parent of this agent's containers.
    public var cgroupParent: String
    public var heartbeatInterval: Duration
    public var leaseDurationSeconds: Int
    /// How often running containers are checked for exits (a cheap syscall per container).
    public var exitPollInterval: Duration
    /// SIGTERM → SIGKILL when the replica gives no `terminationGracePeriodSeconds`.
    public var defaultGracePeriodSeconds: Int
    /// Restart backoff: first delay, doubled per consecutive failure up to the cap; reset after a run this long.
    public var backoffBase: Duration
    public var backoffCap: Duration
    public var backoffReset: Duration
    /// Container log rotation.
    public var logMaxBytes: Int64
    public var logFiles: Int
    /// Images unused for this long are removed from the cache.
    public var imageGCAge: Duration
    /// Service VIPs (the server's `--service-cidr`): addresses in it on the bridge that no service explains are
    /// removed.
    public var serviceCIDR: String
    /// How long a stopping replica waits for every Ready node's HAProxy to stop sending to it before SIGTERM.
    public var drainTimeout: Duration
    /// Service names (`<service>.<project>.kumo` → VIP) from the node's dnsmasq; turns its DNS on.
    public var serviceDNS: Bool
    /// dnsmasq's `--log-dhcp` log is rotated above this size.
    public var dnsmasqLogMaxBytes: Int64
    /// QEMU accelerator: `auto` (KVM if a probe boot works, else TCG), `kvm` or `tcg`.
    public var vmAccel: String
    /// QEMU start → DHCP lease, else the instance fails (a kernel that does not boot).
    public var vmBootTimeout: Duration
    /// QMP system_powerdown → QEMU exit, else it is killed.
    public var vmStopTimeout: Duration
    /// How often the node health report (`kumo doctor`'s facts from this node) is measured and posted.
    public var healthReportInterval: Duration = .seconds(5)

    public init(server: String, nodeName: String, dataDir: String) {
        self.server = server
        self.nodeName = nodeName
        self.dataDir = dataDir
        self.cpuMillicores = ProcessInfo.processInfo.activeProcessorCount * 1000
        self.memoryBytes = Int64(ProcessInfo.processInfo.physicalMemory)
        self.labels = [:]
        self.listenHost = "0.0.0.0"
        self.listenPort = 7481
        self.bridge = "kumo0"
        self.mtu = nil
        self.clusterCIDR = "10.244.0.0/16"
        self.overlayResync = .seconds(5)
        self.runcRoot = "/run/kumo/\(nodeName)/runc"
        self.cgroupParent = "/kumo/\(nodeName)"
        self.heartbeatInterval = .seconds(2)
        self.leaseDurationSeconds = 6
        self.exitPollInterval = .milliseconds(100)
        self.defaultGracePeriodSeconds = ReplicaSpec.defaultTerminationGracePeriodSeconds
        self.backoffBase = .seconds(1)
        self.backoffCap = .seconds(30)
        self.backoffReset = .seconds(60)
        self.logMaxBytes = 10 << 20
        self.logFiles = 3
        self.imageGCAge = .seconds(600)
        self.serviceCIDR = "10.96.0.0/16"
        self.drainTimeout = .seconds(15)
        self.serviceDNS = true
        self.dnsmasqLogMaxBytes = 4 << 20
        self.vmAccel = "auto"
        self.vmBootTimeout = .seconds(90)
        self.vmStopTimeout = .seconds(20)
    }

    public var nodeTokenPath: String { dataDir + "/node.token" }
    public var serverCredentialPath: String { dataDir + "/server.credential" }
    /// The cluster CA, stored at join after it matched the join token's hash (or came from `--ca`).
    public var caPath: String { dataDir + "/ca.crt" }
    /// The endpoint's certificate chain and key, issued by the server in the join answer (0600).
    public var agentCertPath: String { dataDir + "/agent.crt" }
    public var agentKeyPath: String { dataDir + "/agent.key" }
    public var recordsDir: String { dataDir + "/replicas" }
    public var imagesDir: String { dataDir + "/images" }
    public var bundlesDir: String { dataDir + "/bundles" }
    public var logsDir: String { dataDir + "/logs" }
    /// haproxy.cfg, its pid file, Runtime API socket and log.
    public var haproxyDir: String { dataDir + "/haproxy" }
    /// Secret files: a tmpfs the agent mounts (never on disk), one directory per replica and secret.
    public var secretsDir: String { (runcRoot as NSString).deletingLastPathComponent + "/secrets" }
    /// dnsmasq's pid, hosts, lease and log files (readable by `nobody`, so not under the 0700 data directory).
    public var dnsmasqDir: String { (runcRoot as NSString).deletingLastPathComponent + "/dnsmasq" }
    /// One directory per VM (QMP socket, pid file, console log, overlay disk, record).
    public var vmsDir: String { dataDir + "/vms" }
    /// The cached accelerator probe result, and the probe's scratch directory.
    public var accelProbeFile: String { dataDir + "/accel-probe" }
    public var accelProbeDir: String { dataDir + "/accel-probe.d" }
    /// The identity its writes are recorded under.
    public var manager: String { "node/\(nodeName)" }
}
