/// What one container needs from its bundle: the inputs of `OCIBundle.config(for:)`. Plain values so the builder
/// stays pure and a golden file can pin its output.
public struct BundleSpec: Sendable, Hashable {
    /// The runc container id; also the bundle directory name.
    public var id: String
    /// `root.path` in config.json: relative to the bundle directory (`rootfs`) or absolute.
    public var rootfsPath: String
    public var readonlyRootfs: Bool
    /// The process argv (entrypoint + arguments, already resolved from image and replica spec).
    public var args: [String]
    /// `NAME=value` entries. Secret values end up here, which is why bundles live on tmpfs.
    public var env: [String]
    public var cwd: String
    public var hostname: String
    /// `/run/netns/<name>` made by `PodNetwork`; nil gives the container a fresh, unconnected network namespace.
    public var netnsPath: String?
    /// CPU limit as a CFS quota over a 100 ms period; nil = unlimited.
    public var cpuMillicores: Int64?
    /// Memory cgroup limit; nil = unlimited.
    public var memoryBytes: Int64?
    /// pids cgroup limit, so a fork bomb stays inside its replica.
    public var pidsLimit: Int64
    /// RLIMIT_NOFILE (soft = hard). Raising it above the agent's own hard limit needs CAP_SYS_RESOURCE, which
    /// sandboxed agents may lack (runc then fails with "error setting rlimit type 7"), hence runc's own default.
    public var nofileLimit: UInt64
    /// runc's cgroupfs path, e.g. `/kumo/<id>` → `/sys/fs/cgroup/<controller>/kumo/<id>`.
    public var cgroupsPath: String
    /// Extra tmpfs mounts (secrets, scratch space).
    public var tmpfsMounts: [TmpfsMount]
    /// Host directories bind-mounted read-only (secret files).
    public var readOnlyBinds: [ReadOnlyBind] = []

    public init(
        id: String, rootfsPath: String = "rootfs", readonlyRootfs: Bool = false, args: [String], env: [String] = [],
        cwd: String = "/", hostname: String, netnsPath: String? = nil, cpuMillicores: Int64? = nil,
        memoryBytes: Int64? = nil, pidsLimit: Int64 = 1024, nofileLimit: UInt64 = 1024, cgroupsPath: String, tmpfsMounts: [TmpfsMount] = [],
        readOnlyBinds: [ReadOnlyBind] = []
    ) {
        self.readOnlyBinds = readOnlyBinds
        self.id = id
        self.rootfsPath = rootfsPath
        self.readonlyRootfs = readonlyRootfs
        self.args = args
        self.env = env
        self.cwd = cwd
        self.hostname = hostname
        self.netnsPath = netnsPath
        self.cpuMillicores = cpuMillicores
        self.memoryBytes = memoryBytes
        self.pidsLimit = pidsLimit
        self.nofileLimit = nofileLimit
        self.cgroupsPath = cgroupsPath
        self.tmpfsMounts = tmpfsMounts
    }
}

/// A tmpfs mounted into the container at `destination`.
public struct TmpfsMount: Sendable, Hashable {
    public var destination: String
    /// nil = the kernel default (half of RAM).
    public var sizeBytes: Int64?
    /// Octal mode, e.g. `"0700"`.
    public var mode: String

    public init(destination: String, sizeBytes: Int64? = nil, mode: String = "0755") {
        self.destination = destination
        self.sizeBytes = sizeBytes
        self.mode = mode
    }
}

/// A host directory seen read-only inside the container.
public struct ReadOnlyBind: Sendable, Hashable {
    public var source: String
    public var destination: String
    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }
}
