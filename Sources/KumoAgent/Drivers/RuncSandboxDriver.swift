import Foundation
import KumoModel
import KumoSystem
import Logging
import Synchronization

/// The real `SandboxDriver`: pod network namespaces and veths with `ip` batches, overlay bundles, `runc` under
/// the agent's own root, container output to size-rotated log files, exit codes through the child reaper.
final class RuncSandboxDriver: SandboxDriver {
    let config: AgentConfiguration
    let runc: Runc
    let bundles: BundleDirectory
    /// Rebuilt by `prepareNode` once the MTU is known (underlay − 50).
    private let networkBox: Mutex<PodNetwork>
    var network: PodNetwork { networkBox.withLock { $0 } }
    let reaper: ChildReaper
    let logger: Logger

    init(config: AgentConfiguration, logger: Logger) throws(KumoError) {
        guard programExists("runc") else {
            throw KumoError(.unavailable, "runc is not installed (apt-get install runc): the agent runs containers with it")
        }
        self.config = config
        self.logger = logger
        self.runc = Runc(root: config.runcRoot, logger: logger)
        self.bundles = BundleDirectory(root: config.bundlesDir, logger: logger)
        self.networkBox = Mutex(try PodNetwork(bridge: config.bridge, mtu: config.mtu ?? 1450, logger: logger))
        self.reaper = try ChildReaper(logger: logger)
    }

    /// The node bridge with the subnet's gateway (idempotent), and the MTU of bridge and veths.
    func prepareNode(subnet: IPv4Network, mtu: Int) async throws(KumoError) {
        let pods = try PodNetwork(bridge: config.bridge, mtu: mtu, logger: logger)
        networkBox.withLock { $0 = pods }
        try mountTmpfs(config.secretsDir, what: "secrets", size: "64m")
        // runc keeps each container's config (with its environment, secret values included) in its state
        try mountTmpfs(config.runcRoot, what: "runc state", size: "64m")
        let bridge = try HostBridge(name: config.bridge, podCIDR: subnet, mtu: mtu, logger: logger)
        try await bridge.ensure(hostNetns: config.hostNetns)
    }

    func setUpNetwork(_ plan: ContainerPlan) async throws(KumoError) {
        let pod = PodInterface(
            netns: plan.netns, hostVeth: plan.hostVeth, address: plan.ip, prefixLength: plan.subnet.prefixLength,
            gateway: plan.gateway, mac: plan.mac)
        try await network.setUp(pod, hostNetns: config.hostNetns)
    }

    func cgroupsPath(_ id: String) -> String { config.cgroupParent + "/" + id }

    func startContainer(_ plan: ContainerPlan) async throws(KumoError) -> Int32 {
        await removeContainer(plan.id)  // a fresh writable layer for every start
        // No cpu quota at creation: `runc init` runs inside the container's cgroup, and a small quota (10m = 1 ms
        // per 100 ms) throttled it for hundreds of milliseconds. The quota is applied right after the start.
        let spec = BundleSpec(
            id: plan.id, args: plan.args, env: plan.env, cwd: plan.cwd, hostname: plan.hostname,
            netnsPath: PodNetwork.netnsDirectory + "/" + plan.netns, cpuMillicores: nil,
            memoryBytes: plan.memoryBytes, cgroupsPath: cgroupsPath(plan.id),
            readOnlyBinds: plan.secretMounts.map { ReadOnlyBind(source: $0.hostDirectory, destination: $0.mountPath) })
        let bundle = try bundles.create(id: plan.id, imageRootfs: plan.rootfs, config: try OCIBundle.config(for: spec))
        try Self.writeResolvConf(plan.resolvConf, rootfs: bundle + "/rootfs")
        let log = try ContainerLog(directory: config.logsDir, id: plan.id, maxBytes: config.logMaxBytes, keep: config.logFiles)
        let fd = try log.open()
        defer { close(fd) }
        if plan.envHasSecrets {
            // config.json holds the environment: keep it on the secrets tmpfs, the bundle only links to it
            // (runc reads it at start and at every exec)
            let dir = config.secretsDir + "/" + plan.id
            let onTmpfs = dir + "/config.json"
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try? FileManager.default.removeItem(atPath: onTmpfs)
                try FileManager.default.moveItem(atPath: bundle + "/config.json", toPath: onTmpfs)
                try FileManager.default.createSymbolicLink(atPath: bundle + "/config.json", withDestinationPath: onTmpfs)
            } catch {
                throw KumoError(.internal, "failed to move config.json of \(plan.id) to tmpfs: \(error)", cause: error)
            }
        }
        let pid = try await runc.run(id: plan.id, bundle: bundle, stdout: fd, stderr: fd)
        if let cpu = plan.cpuMillicores {
            let (runc, logger, id) = (self.runc, self.logger, plan.id)
            Task {
                do throws(KumoError) { try await runc.update(id, cpuMillicores: cpu) } catch {
                    logger.warning("could not apply the cpu limit", metadata: ["container": "\(id)", "error": "\(error.message)"])
                }
            }
        }
        return pid
    }

    /// Into the container's writable layer (the image stays untouched): `/etc/resolv.conf` naming its node.
    static func writeResolvConf(_ text: String, rootfs: String) throws(KumoError) {
        let etc = rootfs + "/etc"
        let path = etc + "/resolv.conf"
        // an image whose /etc is a symlink would point the host's write elsewhere: such an image keeps its own
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: etc)) != nil { return }
        do {
            try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            // a symlink in the image (e.g. to /run/systemd/resolve) must not send the write outside the rootfs
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil { try FileManager.default.removeItem(atPath: path) }
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o644)
        } catch {
            throw KumoError(.internal, "failed to write /etc/resolv.conf of the container: \(error)", cause: error)
        }
    }

    func exitStatus(pid: Int32) -> ExitObservation {
        switch reaper.status(of: pid) {
        case .running: return .running
        case .exited(let code): return .exited(code)
        case .notAChild:
            // adopted after an agent restart: alive as long as the process exists and is not a zombie
            return Self.processAlive(pid) ? .running : .exited(nil)
        }
    }

    static func processAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = ProcFile.read("/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    func signal(_ id: String, _ signal: Int32) async {
        do { try await runc.kill(id, signal: signal) } catch {
            logger.debug("signal not delivered", metadata: ["container": "\(id)", "error": "\(error.message)"])
        }
    }

    func removeContainer(_ id: String) async {
        do { try await runc.delete(id, force: true) } catch {
            logger.warning("runc delete failed", metadata: ["container": "\(id)", "error": "\(error.message)"])
        }
        // a killed container's processes may take a moment to let go of its root (EBUSY): retry briefly
        var lastError: KumoError?
        for attempt in 0..<30 {
            do {
                try bundles.remove(id: id)
                lastError = nil
                break
            } catch {
                lastError = error
                if attempt < 29 { try? await Task.sleep(for: .milliseconds(100)) }
            }
        }
        if let lastError {
            logger.warning("bundle removal failed", metadata: ["container": "\(id)", "error": "\(lastError.message)"])
        }
        try? Cgroups.remove(cgroupsPath(id))
    }

    func tearDownNetwork(netns: String, hostVeth: String) async {
        do { try await network.tearDown(netns: netns, hostVeth: hostVeth, hostNetns: config.hostNetns) } catch {
            logger.warning("network teardown failed", metadata: ["netns": "\(netns)", "error": "\(error.message)"])
        }
    }

    func runningContainers() async -> [String: Int32] {
        let all = (try? await runc.list()) ?? []
        return Dictionary(all.filter { $0.status == .running }.map { ($0.id, $0.pid) }, uniquingKeysWith: { a, _ in a })
    }

    func allContainers() async -> [String] { ((try? await runc.list()) ?? []).map(\.id) }

    func exec(_ id: String, _ argv: [String], timeout: Duration) async -> Int32 {
        let command = ["runc", "--root", config.runcRoot, "exec", id] + argv
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask { (try? await Command().run(command, outputLimit: 1 << 20))?.status ?? 126 }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? 124  // timed out (the shell convention)
        }
    }

    func log(_ id: String) -> ContainerLog? {
        try? ContainerLog(directory: config.logsDir, id: id, maxBytes: config.logMaxBytes, keep: config.logFiles)
    }

    func logPath(_ id: String) -> String { config.logsDir + "/" + id + ".log" }

    func rotateLog(_ id: String) async { _ = try? log(id)?.rotateIfNeeded() }

    func removeLog(_ id: String) async { log(id)?.remove() }

    /// `kumo agent reset`: the node bridge, the secrets tmpfs and the cgroup parent go too.
    func removeNode() async {
        for dir in [config.secretsDir, config.runcRoot] where BundleDirectory.mountPoints(under: dir).contains(dir) {
            umount2(dir, Int32(MNT_DETACH))
        }
        try? FileManager.default.removeItem(atPath: config.secretsDir)
        var argv = ["ip"]
        if let ns = config.hostNetns { argv += ["-n", ns] }
        _ = try? await Command().run(argv + ["link", "del", config.bridge])
        try? Cgroups.remove(config.cgroupParent)
        // the shared parent (`/kumo`) too once no agent uses it: rmdir only, never recursive
        if let parent = config.cgroupParent.split(separator: "/").dropLast().last {
            for hierarchy in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
                rmdir("/sys/fs/cgroup/\(hierarchy)/\(parent)")
            }
        }
    }

    // MARK: Secrets (tmpfs only)

    /// Mounts a tmpfs (0700) at `dir` unless one is there, so secret material never touches a disk. A directory
    /// that already holds files (state of containers from before) is left as it is, never hidden.
    func mountTmpfs(_ dir: String, what: String, size: String) throws(KumoError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KumoError(.internal, "failed to create \(dir): \(error)", cause: error)
        }
        if BundleDirectory.mountPoints(under: dir).contains(dir) { return }
        if let entries = try? fm.contentsOfDirectory(atPath: dir), !entries.isEmpty {
            logger.warning("\(what) directory is not on tmpfs and not empty; leaving it", metadata: ["dir": "\(dir)"])
            return
        }
        let rc = "mode=0700,size=\(size)".withCString { mount("tmpfs", dir, "tmpfs", UInt(MS_NOSUID | MS_NODEV), $0) }
        guard rc == 0 else {
            throw KumoError(.internal, "failed to mount a tmpfs for \(what) at \(dir): \(String(cString: strerror(errno)))")
        }
    }

    func secretDirectory(_ id: String, secret: String) -> String { config.secretsDir + "/" + id + "/" + secret }

    func writeSecretFiles(_ data: [String: [UInt8]], into directory: String) throws(KumoError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            for (key, value) in data {
                try SafeName.check(key, what: "secret key", maxLength: 253)
                let temp = directory + "/.tmp-" + key
                guard fm.createFile(atPath: temp, contents: Data(value), attributes: [.posixPermissions: 0o400]) else {
                    throw KumoError(.internal, "failed to write secret file \(key)")
                }
                guard rename(temp, directory + "/" + key) == 0 else {
                    let reason = String(cString: strerror(errno))
                    unlink(temp)
                    throw KumoError(.internal, "failed to put secret file \(key) in place: \(reason)")
                }
            }
            for name in try fm.contentsOfDirectory(atPath: directory) where data[name] == nil {
                // a key removed from the secret (or a temp file of a write cut short): left there, the container
                // would go on reading a value the secret no longer has
                do {
                    try fm.removeItem(atPath: directory + "/" + name)
                } catch {
                    throw KumoError(
                        .internal, "failed to remove secret file \(name) (no longer in the secret): \(error)", cause: error)
                }
            }
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to write secret files into \(directory): \(error)", cause: error)
        }
    }

    func removeSecretFiles(_ id: String) {
        let dir = config.secretsDir + "/" + id
        guard FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.removeItem(atPath: dir)
        } catch {
            // secret values stay readable on the node's tmpfs until someone removes them: say so loudly
            logger.error(
                "failed to remove a replica's secret files; they stay on the secrets tmpfs",
                metadata: ["container": "\(id)", "dir": "\(dir)", "error": "\(error)"])
        }
    }
}
