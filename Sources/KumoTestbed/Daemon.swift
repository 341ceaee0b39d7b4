import Foundation
import KumoModel
import KumoSystem

/// One of a local cloud's long-running processes (`kumo server`, `kumo agent`), however it was started.
public protocol Daemon: Sendable {
    /// nil while it runs — or, under a supervisor, while it is being restarted; else how it ended.
    var exitStatus: Int32? { get }
    /// It has exited at least once (under a supervisor: it crashed and is being restarted).
    var hasExited: Bool { get }
    /// SIGTERM (its graceful stop) or SIGKILL, and waits until it is gone; how it ended.
    @discardableResult func stop(kill9: Bool) -> Int32
}

/// What to start: the daemon's name (`server`, `agent-N`: its pid files are NAME.pid and NAME.supervisor.pid),
/// argv, and the log its stdout and stderr are appended to.
public struct DaemonSpec: Sendable, Equatable {
    public var name: String
    public var argv: [String]
    public var log: String
    /// It needs root (an agent). The others run as the user who asked for the cloud, when there is one.
    public var needsRoot: Bool

    public init(name: String, argv: [String], log: String, needsRoot: Bool) {
        self.name = name
        self.argv = argv
        self.log = log
        self.needsRoot = needsRoot
    }
}

/// How a local cloud's daemons are started: as children of this process (`ChildLauncher`: tests and benchmarks,
/// which stop them at the end) or each under a detached supervisor (`SupervisedLauncher`: `make run`, whose
/// daemons outlive the command that starts them and come back when they crash).
public protocol DaemonLauncher: Sendable {
    func launch(_ spec: DaemonSpec) throws -> any Daemon
}

/// Daemons as children of this process (through `Command.spawn`).
public struct ChildLauncher: DaemonLauncher {
    public init() {}

    public func launch(_ spec: DaemonSpec) throws -> any Daemon {
        try Command().spawn(spec.argv, options: SpawnOptions(stdout: .append(spec.log), stderr: .append(spec.log)))
    }
}

extension ChildProcess: Daemon {
    public var hasExited: Bool { exitStatus != nil }

    @discardableResult
    public func stop(kill9: Bool) -> Int32 {
        signal(kill9 ? SIGKILL : SIGTERM)
        return waitUntilExit()
    }
}

/// `make run`'s daemons: each under `kumo-local supervise` (a `Supervisor`) in a session of its own, so it keeps
/// running after `kumo-local up` returns and is restarted when it crashes. In `dir`: NAME.pid is the daemon (the
/// supervisor writes it at each start), NAME.supervisor.pid the loop.
public struct SupervisedLauncher: DaemonLauncher {
    /// The `kumo-local` binary.
    public var supervisor: String
    public var dir: String
    /// Whom to run the daemons that do not need root as (`make run` under sudo: the user who typed it).
    public var user: (uid: UInt32, gid: UInt32)?

    public init(supervisor: String, dir: String, user: (uid: UInt32, gid: UInt32)? = nil) {
        self.supervisor = supervisor
        self.dir = dir
        self.user = user
    }

    public func pidFile(_ name: String) -> String { dir + "/\(name).pid" }
    public func supervisorPidFile(_ name: String) -> String { dir + "/\(name).supervisor.pid" }

    /// `kumo-local supervise …` for `spec`.
    public func argv(_ spec: DaemonSpec) -> [String] {
        var argv = [supervisor, "supervise", "--pid-file", pidFile(spec.name), "--log", spec.log]
        if !spec.needsRoot, let user { argv += ["--user", "\(user.uid):\(user.gid)"] }
        return argv + ["--"] + spec.argv
    }

    public func launch(_ spec: DaemonSpec) throws -> any Daemon {
        if !spec.needsRoot, let user {
            // the supervisor appends to the log as that user
            if !FileManager.default.fileExists(atPath: spec.log) {
                FileManager.default.createFile(atPath: spec.log, contents: nil)
            }
            chown(spec.log, user.uid, user.gid)
        }
        let loop = try Command().spawn(argv(spec), options: SpawnOptions(stderr: .append(spec.log), newSession: true))
        try Data("\(loop.pid)\n".utf8).write(to: URL(fileURLWithPath: supervisorPidFile(spec.name)), options: .atomic)
        return SupervisedDaemon(loop: loop, pidFile: pidFile(spec.name), log: spec.log)
    }
}

/// A daemon under a supervisor this process started.
public struct SupervisedDaemon: Daemon {
    public let loop: ChildProcess
    public let pidFile: String
    public let log: String

    /// The daemon's pid right now (the supervisor rewrites it at each start).
    public var pid: Int32? { PidFile.read(pidFile) }

    public var exitStatus: Int32? { loop.exitStatus }

    public var hasExited: Bool {
        loop.exitStatus != nil
            || ((try? String(contentsOfFile: log, encoding: .utf8))?.contains(Supervisor.restartMarker) ?? false)
    }

    @discardableResult
    public func stop(kill9: Bool) -> Int32 {
        if kill9, let pid { kill(pid, SIGKILL) }
        return loop.stop(grace: kill9 ? .zero : .seconds(10))
    }
}

/// A pid in a file (`echo $! > F`), and stopping the process it names when it is not this process's child.
public enum PidFile {
    public static func read(_ path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Stops the process `path` names, if it still runs: SIGTERM, up to `grace`, then SIGKILL; removes the file.
    /// Returns whether there was a process to stop.
    @discardableResult
    public static func stop(_ path: String, grace: Duration = .seconds(10)) -> Bool {
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let pid = read(path), pid > 1, ProcessStat.isLive(pid) else { return false }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ProcessStat.isLive(pid) && ContinuousClock.now < deadline { usleep(100_000) }
        if ProcessStat.isLive(pid) { kill(pid, SIGKILL) }
        return true
    }
}

/// Appends `text` to the file at `path` (created when missing): the logs of `make run`'s supervisors and steps.
func appendText(_ text: String, to path: String) {
    if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
    guard let handle = FileHandle(forWritingAtPath: path) else { return }
    defer { try? handle.close() }
    _ = try? handle.seekToEnd()
    try? handle.write(contentsOf: Data(text.utf8))
}
