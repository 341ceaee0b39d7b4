import Foundation
import KumoModel

/// Builds a bundle's OCI `config.json` from a `BundleSpec`. Pure: no I/O, so the whole document is pinned by a
/// golden file. The result stays close to `runc spec`'s defaults (namespaces, default mounts, masked and
/// read-only paths) with Docker's default capability set, so ordinary images behave as they do elsewhere.
public enum OCIBundle {
    /// The OCI spec version runc 1.1 writes itself.
    public static let ociVersion = "1.0.2-dev"
    /// CFS period; quota = millicores × 100 so 1000m = one full core.
    public static let cpuPeriod: UInt64 = 100_000
    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Docker's default capabilities: enough for ordinary services (bind low ports, chown, ping with raw
    /// sockets), nothing that reaches beyond the container (no SYS_ADMIN, NET_ADMIN, SYS_MODULE…).
    public static let defaultCapabilities = [
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_MKNOD",
        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
        "CAP_SYS_CHROOT",
    ]

    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ]

    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// The config for `spec`; throws `.invalid` for values runc would reject or that would be unsafe.
    public static func config(for spec: BundleSpec) throws(KumoError) -> OCIConfig {
        try validate(spec)
        var env = spec.env
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.insert(defaultPath, at: 0) }
        let caps = defaultCapabilities
        let process = OCIConfig.Process(
            terminal: false, user: .init(uid: 0, gid: 0), args: spec.args, env: env, cwd: spec.cwd,
            capabilities: .init(bounding: caps, effective: caps, permitted: caps),
            rlimits: [.init(type: "RLIMIT_NOFILE", hard: spec.nofileLimit, soft: spec.nofileLimit)], noNewPrivileges: true)

        var mounts = defaultMounts
        for t in spec.tmpfsMounts {
            var options = ["nosuid", "nodev", "mode=\(t.mode)"]
            if let size = t.sizeBytes { options.append("size=\(size)") }
            mounts.append(.init(destination: t.destination, type: "tmpfs", source: "tmpfs", options: options))
        }
        for b in spec.readOnlyBinds {
            mounts.append(.init(destination: b.destination, type: "bind", source: b.source, options: ["rbind", "ro", "nosuid", "nodev", "noexec"]))
        }

        var namespaces: [OCIConfig.Namespace] = [.init(type: "pid")]
        namespaces.append(.init(type: "network", path: spec.netnsPath))
        namespaces += [.init(type: "ipc"), .init(type: "uts"), .init(type: "mount")]

        let resources = OCIConfig.Resources(
            devices: [.init(allow: false, access: "rwm")],
            memory: spec.memoryBytes.map { .init(limit: $0) },
            cpu: spec.cpuMillicores.map { .init(quota: $0 * Int64(cpuPeriod) / 1000, period: cpuPeriod) },
            pids: .init(limit: spec.pidsLimit))

        return OCIConfig(
            ociVersion: ociVersion, process: process,
            root: .init(path: spec.rootfsPath, readonly: spec.readonlyRootfs), hostname: spec.hostname,
            mounts: mounts,
            linux: .init(
                cgroupsPath: spec.cgroupsPath, resources: resources, namespaces: namespaces,
                maskedPaths: maskedPaths, readonlyPaths: readonlyPaths))
    }

    /// `config.json` bytes: pretty-printed with sorted keys so the same spec always gives the same file.
    public static func json(_ config: OCIConfig) throws(KumoError) -> [UInt8] {
        encode(config).prettySerialized() + [UInt8(ascii: "\n")]
    }

    /// The mounts `runc spec` generates, minus the cgroup filesystem: a replica has no business reading the
    /// node's cgroup tree.
    static let defaultMounts: [OCIConfig.Mount] = [
        .init(destination: "/proc", type: "proc", source: "proc", options: nil),
        .init(
            destination: "/dev", type: "tmpfs", source: "tmpfs",
            options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        .init(
            destination: "/dev/pts", type: "devpts", source: "devpts",
            options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        .init(
            destination: "/dev/shm", type: "tmpfs", source: "shm",
            options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
    ]

    static func validate(_ spec: BundleSpec) throws(KumoError) {
        try SafeName.check(spec.id, what: "container id", maxLength: 64)
        guard !spec.args.isEmpty, !(spec.args.first ?? "").isEmpty else {
            throw KumoError(.invalid, "invalid bundle \(spec.id): args must not be empty")
        }
        guard spec.cwd.hasPrefix("/") else {
            throw KumoError(.invalid, "invalid bundle \(spec.id): cwd must be absolute")
        }
        if let why = Names.validateDNSLabel(spec.hostname) {
            throw KumoError(.invalid, "invalid bundle \(spec.id): hostname \(why)")
        }
        for e in spec.env where !e.contains("=") || e.hasPrefix("=") {
            throw KumoError(.invalid, "invalid bundle \(spec.id): env entry must be NAME=value")
        }
        if let path = spec.netnsPath { try SafeName.checkPath(path, what: "netns path") }
        if let m = spec.cpuMillicores, m <= 0 {
            throw KumoError(.invalid, "invalid bundle \(spec.id): cpu must be positive")
        }
        // The kernel refuses memory limits below a few pages; 4 MiB is also the smallest runc accepts in practice.
        if let m = spec.memoryBytes, m < 4 << 20 {
            throw KumoError(.invalid, "invalid bundle \(spec.id): memory must be at least 4Mi")
        }
        guard spec.pidsLimit > 0 else {
            throw KumoError(.invalid, "invalid bundle \(spec.id): pidsLimit must be positive")
        }
        guard spec.nofileLimit >= 16 else {
            throw KumoError(.invalid, "invalid bundle \(spec.id): nofileLimit must be at least 16")
        }
        guard spec.cgroupsPath.hasPrefix("/"), !spec.cgroupsPath.split(separator: "/").contains("..") else {
            throw KumoError(.invalid, "invalid bundle \(spec.id): cgroupsPath must be absolute without '..'")
        }
        for b in spec.readOnlyBinds {
            guard b.destination.hasPrefix("/"), !b.destination.split(separator: "/").contains(".."), b.source.hasPrefix("/") else {
                throw KumoError(.invalid, "invalid bundle \(spec.id): bind mounts need absolute paths without '..'")
            }
        }
        for t in spec.tmpfsMounts {
            guard t.destination.hasPrefix("/"), !t.destination.split(separator: "/").contains("..") else {
                throw KumoError(.invalid, "invalid bundle \(spec.id): tmpfs destination must be absolute without '..'")
            }
            guard t.mode.allSatisfy({ ("0"..."7").contains($0) }), (3...4).contains(t.mode.count) else {
                throw KumoError(.invalid, "invalid bundle \(spec.id): tmpfs mode must be octal like 0755")
            }
        }
    }
}
