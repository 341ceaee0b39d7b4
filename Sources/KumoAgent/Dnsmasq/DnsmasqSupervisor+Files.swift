import Foundation
import KumoModel
import KumoSystem

#if canImport(Glibc)
    import Glibc
#endif

extension DnsmasqSupervisor {
    /// The directory (0755) and its parent made traversable by others: dnsmasq re-reads its files as `nobody`.
    func prepareDirectory() throws(KumoError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
        } catch {
            throw KumoError(.internal, "failed to create \(config.directory): \(error)", cause: error)
        }
        chmod(config.directory, 0o755)
        let parent = (config.directory as NSString).deletingLastPathComponent
        var dir = parent
        // Ancestors only need the search bit for others; never loosen more than that, and only on the agent's
        // own directory (the parent), its run directories and temporary test directories.
        while dir != "/" && !dir.isEmpty {
            var st = stat()
            guard stat(dir, &st) == 0 else { break }
            if st.st_mode & S_IXOTH == 0 {
                if st.st_uid == getuid(), dir == parent || dir.hasPrefix("/run/kumo") || dir.hasPrefix("/tmp/") {
                    chmod(dir, (st.st_mode & 0o7777) | 0o011)
                } else {
                    throw KumoError(
                        .invalid,
                        "dnsmasq directory \(config.directory) is below \(dir), which others cannot enter: dnsmasq (running as nobody) could not re-read its files",
                        field: "directory")
                }
            }
            dir = (dir as NSString).deletingLastPathComponent
        }
    }

    func writeHostsFile() throws(KumoError) {
        let (text, rejected) = DnsmasqConfig.hostsFile(Array(hosts.values))
        rejectedHosts = rejected
        if !rejected.isEmpty {
            logger.warning("DHCP hosts with a duplicate MAC or IP left out", metadata: ["hosts": "\(rejected.map(\.line))"])
        }
        try Self.writeAtomically(text, to: config.hostsFile)
    }

    func writeAddnHostsFile() throws(KumoError) {
        try Self.writeAtomically(DnsmasqConfig.addnHostsFile(records), to: config.addnHostsFile)
    }

    /// Write a temporary file next to `path`, 0644, fsync, rename over `path`: dnsmasq never reads half a file.
    static func writeAtomically(_ text: String, to path: String) throws(KumoError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KumoError(.internal, "failed to write \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let why = String(cString: strerror(errno))
                close(fd)
                throw KumoError(.internal, "failed to write \(path): \(why)")
            }
            written += n
        }
        fchmod(fd, 0o644)
        fsync(fd)
        close(fd)
        guard rename(tmp, path) == 0 else {
            throw KumoError(.internal, "failed to replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The log file exists and belongs to dnsmasq's user, so it can reopen it after SIGUSR2 without privileges.
    func ensureLogFile() {
        let fd = open(config.logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        if let pw = getpwnam("nobody") { fchown(fd, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        close(fd)
    }

    /// Reads new log lines into the parser.
    func readLog() {
        let now = Date()
        for line in log.readLines() { parser.consume(line, at: now) }
    }

    /// Above the size limit: `dnsmasq.log` → `dnsmasq.log.1` (one old file kept), a new empty log, SIGUSR2.
    func rotateLogIfNeeded(pid: Int32) {
        var st = stat()
        guard stat(config.logFile, &st) == 0, Int64(st.st_size) > logMaxBytes else { return }
        readLog()
        guard rename(config.logFile, config.logFile + ".1") == 0 else {
            logger.warning("failed to rotate the dnsmasq log", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return
        }
        ensureLogFile()
        Glibc.kill(pid, SIGUSR2)
        rotations += 1
        logger.debug("rotated the dnsmasq log", metadata: ["bytes": "\(st.st_size)"])
    }

    // MARK: - processes

    /// The pid in `pidFile` when that process is alive and is a dnsmasq using that pid file.
    static func runningPid(pidFile: String) -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        return isAlive(pid: pid, pidFile: pidFile) ? pid : nil
    }

    /// Alive = exists, is not a zombie, and is the dnsmasq of this pid file. A zombie is left for the agent's
    /// sweep (`ChildReaper`): waiting for a pid read from a file could take a reused pid's status from
    /// Subprocess.
    static func isAlive(pid: Int32, pidFile: String) -> Bool {
        guard ProcessStat.isLive(pid), let argv = commandLine(of: pid) else { return false }
        return argv.contains("--pid-file=\(pidFile)")
    }

    /// A process's argv from /proc, nil when gone.
    static func commandLine(of pid: Int32) -> [String]? {
        guard let text = ProcFile.read("/proc/\(pid)/cmdline"), !text.isEmpty else { return nil }
        return text.split(separator: "\u{0}", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// SIGTERM, up to 2 s, then SIGKILL.
    static func kill(pid: Int32) async {
        guard pid > 0 else { return }
        Glibc.kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !processExists(pid) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<50 where processExists(pid) { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Exists and has not exited (a zombie counts as gone).
    static func processExists(_ pid: Int32) -> Bool {
        ProcessStat.isLive(pid)
    }

    /// `kumo agent reset`: kills the dnsmasq of `directory` (if running) and removes its files.
    public static func reset(directory: String) async {
        let pidFile = directory + "/dnsmasq.pid"
        if let pid = runningPid(pidFile: pidFile) { await kill(pid: pid) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
