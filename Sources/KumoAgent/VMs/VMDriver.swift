import Foundation
import KumoModel
import KumoSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The real programs behind a VM: `ip tuntap` for the tap on the node bridge, `qemu-img` for overlays,
/// `qemu-system-x86_64 -daemonize` inside the node's network namespace, QMP for power control, and the
/// accelerator probe. A shell: no decisions here (those are `InstanceRunner`'s).
public struct VMDriver: Sendable {
    public static let tapPrefix = "kv"
    let hostNetns: String?
    let bridge: String
    let mtu: Int
    let command: Command
    let logger: Logger

    public init(hostNetns: String?, bridge: String, mtu: Int, command: Command = Command(), logger: Logger) {
        self.hostNetns = hostNetns
        self.bridge = bridge
        self.mtu = mtu
        self.command = command
        self.logger = logger
    }

    /// `kv` + 12 hex characters of the instance uid's sha256 (stable across agent restarts, 14 bytes).
    public static func tapName(uid: String) -> String {
        tapPrefix + String(FileDigest.sha256(of: Array(uid.utf8)).dropFirst("sha256:".count).prefix(12))
    }

    /// argv run inside the node's namespace (`nsenter --net=` when the agent is not in it: tests).
    func inNetns(_ argv: [String]) -> [String] {
        guard let hostNetns else { return argv }
        return ["nsenter", "--net=/run/netns/\(hostNetns)"] + argv
    }

    func ip(_ args: [String]) -> [String] {
        var argv = ["ip"]
        if let hostNetns { argv += ["-n", hostNetns] }
        return argv + args
    }

    /// The tap, a port of the node bridge with the node MTU, up. An existing tap of that name is reused.
    public func createTap(_ name: String) async throws(KumoError) {
        try SafeName.checkInterface(name)
        let exists = try await command.run(ip(["-o", "link", "show", "dev", name])).succeeded
        if !exists {
            let r = try await command.run(ip(["tuntap", "add", "dev", name, "mode", "tap"]))
            guard r.succeeded else { throw KumoError(.internal, "failed to create tap \(name): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        }
        let r = try await command.run(ip(["link", "set", "dev", name, "mtu", String(mtu), "master", bridge, "up"]))
        guard r.succeeded else {
            throw KumoError(.internal, "failed to attach tap \(name) to \(bridge): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    public func deleteTap(_ name: String) async {
        _ = try? await command.run(ip(["link", "del", "dev", name]))
    }

    public func tapExists(_ name: String) async -> Bool {
        (try? await command.run(ip(["-o", "link", "show", "dev", name])).succeeded) ?? false
    }

    /// Every tap of ours in the namespace (for reset and leftovers).
    public func allTaps() async -> [String] {
        guard let out = try? await command.check(ip(["-o", "link", "show", "type", "tun"])) else { return [] }
        return out.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":")
            guard parts.count > 1 else { return nil }
            let name = parts[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            return name.hasPrefix(Self.tapPrefix) ? name : nil
        }
    }

    /// A copy-on-write qcow2 overlay on the cached base image (`qemu-img create -b … -F …`), grown to `size`.
    public func createOverlay(base: String, format: String, path: String, sizeBytes: Int64?) async throws(KumoError) {
        unlink(path)
        var argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", format, path]
        if let sizeBytes { argv.append(String(sizeBytes)) }
        let r = try await command.run(argv)
        guard r.succeeded else { throw KumoError(.internal, "qemu-img create failed: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
    }

    /// Starts QEMU (it daemonizes once the VM is set up, and confines itself then) and returns its pid.
    public func start(_ line: QEMUCommandLine) async throws(KumoError) -> Int32 {
        guard programExists(line.program) else {
            throw KumoError(.unavailable, "\(line.program) is not installed (apt-get install qemu-system-x86)")
        }
        if let root = line.confinement?.root { try QEMUConfinement.prepareEmptyRoot(root) }
        // a confined QEMU cannot remove these at exit (they are outside its root): the previous run's may be here
        unlink(line.pidFile)
        unlink(line.qmpSocket)
        let r = try await command.run(inNetns(line.argv))
        guard r.succeeded else {
            throw KumoError(.internal, "qemu failed to start: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500))")
        }
        for _ in 0..<100 {
            if let pid = Self.runningPid(pidFile: line.pidFile) { return pid }
            try? await Task.sleep(for: .milliseconds(20))
        }
        throw KumoError(.internal, "qemu started but wrote no pid file \(line.pidFile)")
    }

    /// The pid in `pidFile` when it is a live QEMU using that pid file.
    public static func runningPid(pidFile: String) -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        return isQEMU(pid: pid, pidFile: pidFile) ? pid : nil
    }

    /// Alive (a zombie is not: it waits for the agent's sweep) and a QEMU started with `pidFile` — a stale pid
    /// file's pid may belong to another process by now.
    public static func isQEMU(pid: Int32, pidFile: String) -> Bool {
        guard ProcessStat.isLive(pid), let argv = DnsmasqSupervisor.commandLine(of: pid) else { return false }
        return argv.contains(pidFile)
    }

    public func qmp(_ socket: String, _ command: String) async throws(KumoError) -> JSONValue {
        let result = await Task.detached { () -> Result<JSONValue, KumoError> in
            do throws(KumoError) { return .success(try QMPClient.execute(socket: socket, command: command)) } catch {
                return .failure(error)
            }
        }.value
        return try result.get()
    }

    /// SIGTERM, then SIGKILL after `grace`.
    public func kill(pid: Int32, pidFile: String, grace: Duration = .seconds(2)) async {
        guard Self.isQEMU(pid: pid, pidFile: pidFile) else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if !ProcessStat.isLive(pid) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<40 where ProcessStat.isLive(pid) { try? await Task.sleep(for: .milliseconds(25)) }
    }

    /// One ping from the node's namespace; true when answered.
    public func ping(_ ip: String) async -> Bool {
        (try? await command.run(inNetns(["ping", "-c1", "-W1", "-q", ip])).succeeded) ?? false
    }
}
