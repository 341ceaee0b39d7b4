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

    var configPath: String { dir + "/haproxy.cfg" }
    var pidPath: String { dir + "/haproxy.pid" }
    var logPath: String { dir + "/haproxy.log" }
    nonisolated var adminSocket: String { dir + "/admin.sock" }
    nonisolated var aliveSocket: String { dir + "/alive.sock" }

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

    /// Loads `text` unless it is what runs already: validate → write → start or hitless reload. Throws (and
    /// leaves the running HAProxy as it was) when the config is invalid or HAProxy does not come up.
    @discardableResult
    func apply(_ text: String) async throws(KumoError) -> Bool {
        if text == applied, case .running(let pid) = state, Self.alive(pid) { return false }
        let candidate = dir + "/haproxy.cfg.new"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: candidate), options: .atomic)
        } catch {
            throw KumoError(.internal, "failed to write \(candidate): \(error)", cause: error)
        }
        let check = try await command.run(inNetns([Self.binary, "-c", "-q", "-f", candidate]))
        guard check.succeeded else {
            rejectedConfigs += 1
            let why = "haproxy -c rejected the rendered config: " + (check.stderr + check.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            lastError = why
            throw KumoError(.internal, why)
        }
        guard rename(candidate, configPath) == 0 else {
            throw KumoError(.internal, "failed to move the config into place: \(String(cString: strerror(errno)))")
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
        let status = try await command.run(inNetns(argv), stdout: logFD, stderr: logFD)
        let elapsed = ContinuousClock.now - started
        guard status == 0, let pid = readPid(), Self.alive(pid) else {
            let why = "haproxy \(old == nil ? "start" : "reload") failed (exit \(status)): \(logTail())"
            lastError = why
            if old == nil { state = .failed(why) }
            throw KumoError(.internal, why)
        }
        state = .running(pid: pid)
        applied = text
        reloads += 1
        lastError = nil
        lastReload = Reload(
            at: Timestamp.now(),
            durationMs: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, pid: pid)
        logger.info(
            old == nil ? "haproxy started" : "haproxy reloaded",
            metadata: ["pid": "\(pid)", "ms": "\(Int(lastReload?.durationMs ?? 0))"])
        return true
    }

    /// Starts HAProxy again with the last applied config when it died; returns whether it had to.
    func restartIfDead() async -> Bool {
        guard let text = applied, case .running(let pid) = state, !Self.alive(pid) else { return false }
        restarts += 1
        logger.warning("haproxy died; starting it again", metadata: ["pid": "\(pid)"])
        state = .stopped
        applied = nil
        do {
            try await apply(text)
        } catch {
            state = .failed(error.message)
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

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(5).joined(separator: " | ")
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
