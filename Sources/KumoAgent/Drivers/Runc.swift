import Foundation
import KumoModel
import KumoSystem
import Logging

/// A typed wrapper around the `runc` program, with all state under the agent's own `--root` so Kumo's
/// containers never mix with anyone else's. Every call is one `runc` process started from an argv array.
public struct Runc: Sendable {
    public let root: String
    let binary: String
    let command: Command
    let logger: Logger

    public init(root: String, binary: String = "runc", command: Command = Command(), logger: Logger) {
        self.root = root
        self.binary = binary
        self.command = command
        self.logger = logger
    }

    /// `runc --root R run -d --bundle B ID`: creates and starts the container, detached. Its stdout and stderr go
    /// to the given open descriptors (a log file, so output survives agent restarts); runc's own diagnostics go
    /// to `<bundle>/runc.log` and are quoted in the error when the start fails. Returns the init process's pid
    /// (written by runc to `<bundle>/init.pid`).
    @discardableResult
    public func run(id: String, bundle: String, stdout: Int32, stderr: Int32) async throws(KumoError) -> Int32 {
        try SafeName.check(id, what: "container id", maxLength: 64)
        let runcLog = bundle + "/runc.log"
        let pidFile = bundle + "/init.pid"
        unlink(pidFile)
        unlink(runcLog)  // so a failure quotes this attempt's errors, not an earlier one's
        let argv = [
            binary, "--root", root, "--log", runcLog, "--log-format", "json", "run", "-d", "--pid-file", pidFile,
            "--bundle", bundle, id,
        ]
        let status = try await command.run(argv, stdout: stdout, stderr: stderr)
        guard status == 0 else {
            let reason = Self.lastErrors(inLog: runcLog) ?? "exit \(status)"
            throw KumoError(.internal, "failed to start container \(id): \(reason)")
        }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else {
            throw KumoError(.internal, "failed to start container \(id): runc wrote no pid file")
        }
        logger.debug("container started", metadata: ["id": "\(id)", "pid": "\(pid)"])
        return pid
    }

    /// The container's state, nil when runc does not know it.
    public func state(_ id: String) async throws(KumoError) -> RuncState? {
        try SafeName.check(id, what: "container id", maxLength: 64)
        let result = try await command.run([binary, "--root", root, "state", id])
        guard result.succeeded else {
            let error = Self.error("failed to read the state of container \(id)", result)
            if error.code == .notFound { return nil }
            throw error
        }
        return try Self.decode(RuncState.self, result.stdout, what: "runc state \(id)")
    }

    /// Every container under this root (`runc list` prints `null` for none, which becomes []).
    public func list() async throws(KumoError) -> [RuncState] {
        let result = try await command.run([binary, "--root", root, "list", "--format", "json"])
        guard result.succeeded else {
            throw KumoError(.internal, "failed to list containers: \(Self.message(result))")
        }
        return try Self.decode([RuncState]?.self, result.stdout, what: "runc list") ?? []
    }

    /// Sends `signal` to the init process (`all`: to every process of the container).
    public func kill(_ id: String, signal: Int32 = SIGTERM, all: Bool = false) async throws(KumoError) {
        try SafeName.check(id, what: "container id", maxLength: 64)
        var argv = [binary, "--root", root, "kill"]
        if all { argv.append("--all") }
        argv += [id, String(signal)]
        let result = try await command.run(argv)
        guard result.succeeded else { throw Self.error("failed to signal container \(id)", result) }
    }

    /// Deletes the container's runc state and cgroups (`force`: kills it first if it still runs). A container
    /// runc does not know is already deleted, so this is idempotent.
    public func delete(_ id: String, force: Bool = false) async throws(KumoError) {
        try SafeName.check(id, what: "container id", maxLength: 64)
        var argv = [binary, "--root", root, "delete"]
        if force { argv.append("--force") }
        argv.append(id)
        let result = try await command.run(argv)
        guard result.succeeded else {
            let error = Self.error("failed to delete container \(id)", result)
            guard error.code == .notFound else { throw error }
            return
        }
    }

    /// One usage snapshot (`runc events --stats ID`).
    public func stats(_ id: String) async throws(KumoError) -> RuncStats {
        try SafeName.check(id, what: "container id", maxLength: 64)
        let result = try await command.run([binary, "--root", root, "events", "--stats", id])
        guard result.succeeded else { throw Self.error("failed to read the stats of container \(id)", result) }
        let event = try Self.decode(RuncStats.Event.self, result.stdout, what: "runc events --stats \(id)")
        guard let data = event.data else {
            throw KumoError(.internal, "failed to read the stats of container \(id): no data in the event")
        }
        return RuncStats(data)
    }

    /// Changes limits of a running container in place (`runc update`); nil leaves a limit as it is.
    public func update(_ id: String, memoryBytes: Int64? = nil, cpuMillicores: Int64? = nil, pidsLimit: Int64? = nil)
        async throws(KumoError)
    {
        try SafeName.check(id, what: "container id", maxLength: 64)
        var argv = [binary, "--root", root, "update"]
        if let memoryBytes { argv += ["--memory", String(memoryBytes)] }
        if let cpuMillicores {
            argv += [
                "--cpu-period", String(OCIBundle.cpuPeriod),
                "--cpu-quota", String(cpuMillicores * Int64(OCIBundle.cpuPeriod) / 1000),
            ]
        }
        if let pidsLimit { argv += ["--pids-limit", String(pidsLimit)] }
        argv.append(id)
        let result = try await command.run(argv)
        guard result.succeeded else {
            throw KumoError(.internal, "failed to update container \(id): \(Self.message(result))")
        }
    }

    // MARK: - helpers

    /// The error for a failed runc call, quoting runc's message. runc has no machine-readable errors: this is the
    /// one place that reads its text, and a container runc does not know becomes `.notFound`, which callers test.
    static func error(_ what: String, _ result: CommandResult) -> KumoError {
        KumoError(result.stderr.contains("does not exist") ? .notFound : .internal, "\(what): \(message(result))")
    }

    /// runc's stderr lines look like `time="…" level=error msg="container does not exist"`; quote just the msg.
    static func message(_ result: CommandResult) -> String { message(stderr: result.stderr, status: result.status) }

    static func message(stderr: String, status: Int32) -> String {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        var messages: [String] = []
        for line in text.split(separator: "\n") {
            if let r = line.range(of: "msg=\"") {
                var msg = line[r.upperBound...]
                if msg.hasSuffix("\"") { msg = msg.dropLast() }
                messages.append(msg.replacingOccurrences(of: "\\\"", with: "\""))
            } else {
                messages.append(String(line))
            }
        }
        let joined = messages.joined(separator: "; ")
        return joined.isEmpty ? "exit \(status)" : String(joined.prefix(2000))
    }

    /// The error-level messages of a `--log-format json` runc log (the last few).
    static func lastErrors(inLog path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        struct Line: Decodable {
            var level: String?
            var msg: String?
        }
        let errors = text.split(separator: "\n").compactMap { line -> String? in
            guard let l = try? KumoModel.decode(jsonBytes: line.utf8, as: Line.self), l.level == "error" || l.level == "fatal"
            else { return nil }
            return l.msg
        }
        return errors.isEmpty ? nil : errors.suffix(3).joined(separator: "; ")
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws(KumoError) -> T {
        do {
            return try KumoModel.decode(jsonBytes: text.utf8, as: type)
        } catch {
            throw KumoError(.internal, "failed to parse \(what) output: \(error.message)", cause: error)
        }
    }
}
