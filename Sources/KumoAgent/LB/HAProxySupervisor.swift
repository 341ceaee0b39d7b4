import Foundation
import KumoModel
import KumoSystem
import Logging

/// Runs the node's HAProxy: writes the rendered haproxy.cfg, validates it with `haproxy -c` (a config that fails
/// is never loaded; the running one stays), starts HAProxy in the node's network namespace, reloads hitlessly
/// (`-x <admin socket> -sf <old pid>`: the new process takes over the listening sockets, the old one finishes its
/// connections and exits), and starts it again if it dies.
actor HAProxySupervisor {
    enum State: Sendable, Equatable {
        case stopped
        case running(pid: Int32)
        case failed(String)

        var description: String {
            switch self {
            case .stopped: "stopped"
            case .running(let pid): "running (pid \(pid))"
            case .failed(let why): "failed: \(why)"
            }
        }
    }

    struct Reload: Sendable {
        var at: Timestamp
        var durationMs: Double
        var pid: Int32
    }

    static let binary = "/usr/sbin/haproxy"

    let dir: String
    let hostNetns: String?
    let command: Command
    let logger: Logger
    private(set) var state: State = .stopped
    private(set) var applied: String?
    private(set) var lastReload: Reload?
    private(set) var reloads = 0
    private(set) var restarts = 0
    private(set) var rejectedConfigs = 0
    private(set) var lastError: String?
    /// The listeners the applied config was checked for (empty for an adopted HAProxy: not known).
    private(set) var appliedListeners: Set<Listener> = []
    /// A load is under way (see `load`, `restartIfDead`).
    private var loading = false

    var configPath: String { dir + "/haproxy.cfg" }
    var pidPath: String { dir + "/haproxy.pid" }
    var logPath: String { dir + "/haproxy.log" }
    nonisolated var adminSocket: String { dir + "/admin.sock" }
    nonisolated var aliveSocket: String { dir + "/alive.sock" }
    /// HAProxy's chroot: empty, root-owned, 0755 (HAProxy opens nothing by path once running).
    nonisolated var chrootDir: String { dir + "/empty" }

    /// Who HAProxy runs as after binding: the `haproxy` user of Debian's package when it exists, else
    /// nobody/nogroup (65534). Numeric, so the config says exactly what runs.
    static func unprivilegedIDs() -> (uid: Int, gid: Int) {
        guard let pw = getpwnam("haproxy") else { return (65534, 65534) }
        return (Int(pw.pointee.pw_uid), Int(pw.pointee.pw_gid))
    }

    init(dir: String, hostNetns: String?, logger: Logger) {
        self.dir = dir
        self.hostNetns = hostNetns
        self.command = Command(logger: logger)
        self.logger = logger
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // an HAProxy left running by the previous agent process keeps serving; adopt it (the next change reloads
        // it hitlessly) instead of starting a second one that could not bind the same addresses
        if let text = try? String(contentsOfFile: dir + "/haproxy.pid", encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }),
            Self.alive(pid), Self.processes(config: dir + "/haproxy.cfg").contains(pid)
        {
            state = .running(pid: pid)
            applied = try? String(contentsOfFile: dir + "/haproxy.cfg", encoding: .utf8)
            logger.info("adopted the running haproxy", metadata: ["pid": "\(pid)"])
        }
    }

    /// What one load did.
    enum LoadOutcome: Sendable {
        /// The config runs already.
        case unchanged
        /// Started or reloaded, and HAProxy listens on every expected listener.
        case loaded(pid: Int32)
        /// HAProxy could not bind these listeners (HAProxy's reason for each); the running process, if any,
        /// serves the previous config.
        case bindFailed([Listener: String])
        /// Anything else: rejected config, spawn, start or reload failure, listeners missing afterwards.
        case failed(KumoError)
    }

    /// Loads `text` unless it is what runs already: validate → write → start or hitless reload → check that HAProxy
    /// holds every `expecting` listener (the kernel's table, not HAProxy's word). A failed load leaves the running
    /// HAProxy as it was.
    func load(_ text: String, expecting: Set<Listener>) async -> LoadOutcome {
        // one load at a time (restartIfDead and a sync may both want one); the actor alone would interleave them
        // at every await
        while loading { try? await Task.sleep(for: .milliseconds(20)) }
        if text == applied, case .running(let pid) = state, Self.alive(pid) { return .unchanged }
        loading = true
        defer { loading = false }
        let candidate = dir + "/haproxy.cfg.new"
        do {
            try FileManager.default.createDirectory(atPath: chrootDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try Data(text.utf8).write(to: URL(fileURLWithPath: candidate), options: .atomic)
        } catch {
            return .failed(KumoError(.internal, "failed to write \(candidate): \(error)", cause: error))
        }
        let check: CommandResult
        do { check = try await command.run(inNetns([Self.binary, "-c", "-q", "-f", candidate])) } catch { return .failed(error) }
        guard check.succeeded else {
            rejectedConfigs += 1
            let why = "haproxy -c rejected the rendered config: " + (check.stderr + check.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            lastError = why
            return .failed(KumoError(.internal, why))
        }
        guard rename(candidate, configPath) == 0 else {
            return .failed(KumoError(.internal, "failed to move the config into place: \(String(cString: strerror(errno)))"))
        }
        var argv = [Self.binary, "-f", configPath, "-p", pidPath, "-D"]
        var old: Int32? = nil
        if case .running(let pid) = state, Self.alive(pid) {
            old = pid
            argv += ["-x", adminSocket, "-sf", String(pid)]
        }
        let started = ContinuousClock.now
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { if logFD >= 0 { close(logFD) } }
        // only what this run writes is read back (the log holds every earlier run's lines too)
        let logOffset = logFD >= 0 ? lseek(logFD, 0, SEEK_END) : 0
        let status: Int32
        do { status = try await command.run(inNetns(argv), stdout: logFD, stderr: logFD) } catch { return .failed(error) }
        let elapsed = ContinuousClock.now - started
        guard status == 0, let pid = readPid(), Self.alive(pid) else {
            let output = logText(from: logOffset)
            let why = "haproxy \(old == nil ? "start" : "reload") failed (exit \(status)): \(Self.tail(output))"
            lastError = why
            if old == nil { state = .failed(why) }
            restoreAppliedConfig()
            let unbound = Self.bindFailures(output)
            return unbound.isEmpty ? .failed(KumoError(.internal, why)) : .bindFailed(unbound)
        }
        state = .running(pid: pid)
        let missing = await missingListeners(expecting, pid: pid)
        guard missing.isEmpty else {
            // it runs, but not as rendered: nothing is published on its word, and the next sync loads again
            applied = nil
            let why = "haproxy (pid \(pid)) does not listen on \(missing.sorted().map(\.description).joined(separator: ", ")) after the \(old == nil ? "start" : "reload")"
            lastError = why
            return .failed(KumoError(.internal, why))
        }
        applied = text
        appliedListeners = expecting
        reloads += 1
        lastError = nil
        lastReload = Reload(
            at: Timestamp.now(),
            durationMs: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, pid: pid)
        logger.info(
            old == nil ? "haproxy started" : "haproxy reloaded",
            metadata: ["pid": "\(pid)", "ms": "\(Int(lastReload?.durationMs ?? 0))"])
        return .loaded(pid: pid)
    }

    /// `load` for callers that only need "did it change": throws on any failure (a bind failure included).
    @discardableResult
    func apply(_ text: String, expecting: Set<Listener> = []) async throws(KumoError) -> Bool {
        switch await load(text, expecting: expecting) {
        case .unchanged: return false
        case .loaded: return true
        case .bindFailed(let unbound):
            throw KumoError(.internal, "haproxy could not bind " + unbound.keys.sorted().map { "\($0) (\(unbound[$0] ?? ""))" }.joined(separator: ", "))
        case .failed(let error): throw error
        }
    }

    /// The pid of the running HAProxy (nil when none runs).
    var runningPid: Int32? {
        if case .running(let pid) = state, Self.alive(pid) { return pid }
        return nil
    }

    /// The listeners HAProxy `pid` holds now: rows of its namespace's table whose socket it has open.
    static func heldListeners(pid: Int32) -> Set<Listener> {
        ListenerTable.read(netOf: pid)?.held(by: ListenerTable.socketInodes(pid: pid)) ?? []
    }

    /// Expected listeners `pid` does not hold. HAProxy binds before `-D` returns; the few retries only cover a
    /// table read racing the old process handing its sockets over.
    private func missingListeners(_ expected: Set<Listener>, pid: Int32) async -> Set<Listener> {
        var missing = expected
        for attempt in 0..<10 {
            missing = expected.subtracting(Self.heldListeners(pid: pid))
            if missing.isEmpty || attempt == 9 { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return missing
    }

    /// The listeners HAProxy says it could not bind, with its reason, from the lines one run wrote:
    /// `[ALERT] … Binding [haproxy.cfg:25] for frontend demo.web:80: cannot bind socket (Address already in use)
    /// for [192.0.2.18:30080]` (HAProxy 2.6; 2.4 spells it `Starting frontend …: cannot bind socket …`).
    static func bindFailures(_ log: String) -> [Listener: String] {
        var out: [Listener: String] = [:]
        for line in log.split(separator: "\n") {
            guard let marker = line.range(of: "cannot bind socket") else { continue }
            let rest = line[marker.upperBound...]
            var reason = "cannot bind socket"
            if let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
                reason = String(rest[rest.index(after: open)..<close])
            }
            guard let open = rest.range(of: "for ["), let close = rest[open.upperBound...].lastIndex(of: "]"),
                let listener = Listener(parsing: rest[open.upperBound..<close])
            else { continue }
            out[listener] = reason
        }
        return out
    }

    /// Starts HAProxy again with the last applied config when it died; returns whether it had to. Not while a load
    /// runs: between the new process taking over and the state naming it, the old pid is dead by design.
    func restartIfDead() async -> Bool {
        guard !loading, let text = applied, case .running(let pid) = state, !Self.alive(pid) else { return false }
        restarts += 1
        logger.warning("haproxy died; starting it again", metadata: ["pid": "\(pid)"])
        state = .stopped
        applied = nil
        switch await load(text, expecting: appliedListeners) {
        case .unchanged, .loaded: break
        case .bindFailed:
            // lastError says which; the caller syncs, which probes the ports and leaves the busy ones out
            if case .running = state {} else { state = .failed(lastError ?? "haproxy could not bind its listeners") }
        case .failed(let error):
            if case .running = state {} else { state = .failed(error.message) }
        }
        return true
    }

    func runtime() -> HAProxyRuntime { HAProxyRuntime(socketPath: adminSocket) }

    func snapshot() -> JSONValue {
        var out: [String: JSONValue] = [
            "state": .string(state.description), "config": .string(configPath), "adminSocket": .string(adminSocket),
            "reloads": .number(Double(reloads)), "restarts": .number(Double(restarts)),
            "rejectedConfigs": .number(Double(rejectedConfigs)),
            "lastError": lastError.map { .string($0) } ?? .null,
        ]
        if let r = lastReload {
            out["lastReload"] = ["at": .string(r.at.rfc3339), "durationMs": .number((r.durationMs * 10).rounded() / 10), "pid": .number(Double(r.pid))]
        }
        return .object(out)
    }

    private func inNetns(_ argv: [String]) -> [String] {
        guard let hostNetns else { return argv }
        return ["nsenter", "--net=/run/netns/\(hostNetns)"] + argv
    }

    private func readPid() -> Int32? {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Puts the config that runs back in place after a start or reload that failed, so haproxy.cfg is always what
    /// runs (an agent restart adopts HAProxy with it, and compares the next render against it).
    private func restoreAppliedConfig() {
        guard let applied else { return }
        do {
            try Data(applied.utf8).write(to: URL(fileURLWithPath: configPath), options: .atomic)
        } catch {
            logger.warning("failed to restore the running config", metadata: ["path": "\(configPath)", "error": "\(error)"])
        }
    }

    /// What the log holds past `offset` (one run's output).
    private func logText(from offset: off_t) -> String {
        guard let handle = FileHandle(forReadingAtPath: logPath) else { return "" }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(max(0, offset)))
            return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        } catch {
            return ""
        }
    }

    private static func tail(_ text: String) -> String {
        text.split(separator: "\n").suffix(5).joined(separator: " | ")
    }

    /// Alive and not a zombie: a dead daemon lingers as the agent's zombie child (the agent is a subreaper)
    /// until the agent's sweep (`ChildReaper`) reaps it. Not waited for here: by the time a pid read from the
    /// pid file is a zombie it may be a reused pid that Subprocess is about to wait for.
    static func alive(_ pid: Int32) -> Bool {
        ProcessStat.isLive(pid)
    }

    /// Every HAProxy process running `configPath` (`kumo agent reset`): found in /proc by their command line.
    static func processes(config: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return args.first?.hasSuffix("haproxy") == true && args.contains(config)
        }
    }
}
