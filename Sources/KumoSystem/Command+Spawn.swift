import Dispatch
import Foundation
import KumoModel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where a spawned child's standard stream goes.
public enum ChildStream: Sendable, Equatable {
    /// `/dev/null`.
    case null
    /// This process's own stream.
    case inherit
    /// The file at this path, appended to (created 0644 when missing).
    case append(String)
}

/// How `Command.spawn` starts a child that outlives the call.
public struct SpawnOptions: Sendable {
    /// Added to (or replacing) this process's environment.
    public var environment: [String: String]
    public var stdin: ChildStream
    public var stdout: ChildStream
    public var stderr: ChildStream
    /// `setsid`: the child leads a session of its own, so it keeps running when this process and its terminal go
    /// (`make run`'s daemons), and no signal meant for this process group reaches it.
    public var newSession: Bool

    public init(
        environment: [String: String] = [:], stdin: ChildStream = .null, stdout: ChildStream = .null,
        stderr: ChildStream = .null, newSession: Bool = false
    ) {
        self.environment = environment
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.newSession = newSession
    }
}

/// Synchronous and long-lived spawns: `run` ties a child to an async call that waits for it, which is right for
/// the agent's `ip`/`runc` runs; the testbed's API is synchronous, and its daemons (`kumo server`, `kumo agent`,
/// `make run`'s supervisors) outlive the call that starts them. Both are `posix_spawn` with what Subprocess also
/// does: an empty signal mask and every signal at its default disposition in the child (a child of a test runner
/// or of a process that ignores SIGPIPE would otherwise inherit blocked or ignored signals — SIGTERM would not stop
/// it), and every descriptor above 2 closed. Each child is in the `SpawnLedger` until it has been reaped.
extension Command {
    /// Starts `argv` and returns at once with a handle to wait for it, signal it, or let it outlive this process
    /// (`newSession`).
    public func spawn(_ argv: [String], options: SpawnOptions = SpawnOptions()) throws(KumoError) -> ChildProcess {
        let ledger = SpawnLedger.shared.beginBlocking()
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        var stdio: [Int32] = []
        for (stream, write) in [(options.stdin, false), (options.stdout, true), (options.stderr, true)] {
            switch stream {
            case .inherit: stdio.append(-1)
            case .null, .append:
                let fd = try Self.open(stream, forWriting: write)
                opened.append(fd)
                stdio.append(fd)
            }
        }
        let pid = try Self.posixSpawn(argv, environment: options.environment, stdio: stdio, newSession: options.newSession)
        ledger.started(pid)
        logger?.trace("spawned", metadata: ["argv": "\(argv)", "pid": "\(pid)"])
        return ChildProcess(pid: pid, argv: argv, ledger: ledger)
    }

    /// `run` for callers that cannot suspend (the testbed, `kumo-local`): runs `argv` to completion, writing
    /// `input` to its stdin while reading its stdout and stderr together (reading one to its end first would
    /// deadlock a program that fills the other pipe). Never throws for a non-zero exit — look at `status`.
    public func runBlocking(_ argv: [String], environment: [String: String] = [:], input: [UInt8]? = nil)
        throws(KumoError) -> CommandResult
    {
        let ledger = SpawnLedger.shared.beginBlocking()
        defer { ledger.end() }
        let out = try Self.pipe()
        let err = try Self.pipe()
        let stdin: (read: Int32, write: Int32)
        do {
            stdin = input == nil ? (try Self.open(.null, forWriting: false), -1) : try Self.pipe()
        } catch {
            for fd in [out.read, out.write, err.read, err.write] { close(fd) }
            throw error
        }
        let pid: Int32
        do {
            pid = try Self.posixSpawn(argv, environment: environment, stdio: [stdin.read, out.write, err.write], newSession: false)
        } catch {
            for fd in [out.read, out.write, err.read, err.write, stdin.read, stdin.write] where fd >= 0 { close(fd) }
            throw error
        }
        ledger.started(pid)
        for fd in [stdin.read, out.write, err.write] { close(fd) }
        let (stdout, stderr) = Self.exchange(input: input ?? [], stdin: stdin.write, stdout: out.read, stderr: err.read)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let status = ChildProcess.decode(raw)
        logger?.trace("ran", metadata: ["argv": "\(argv)", "status": "\(status)"])
        return CommandResult(
            argv: argv, status: status, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Writes `input` and reads both outputs until the child closes them, with `poll`: no thread per pipe.
    private static func exchange(input: [UInt8], stdin: Int32, stdout: Int32, stderr: Int32) -> ([UInt8], [UInt8]) {
        var collected: [Int32: [UInt8]] = [stdout: [], stderr: []]
        var open: Set<Int32> = [stdout, stderr]
        var writer = stdin
        var written = 0
        if writer >= 0 {
            _ = Self.ignoreSIGPIPE
            _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
            if input.isEmpty {
                close(writer)
                writer = -1
            }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || writer >= 0 {
            var fds = open.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writer >= 0 { fds.append(pollfd(fd: writer, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { break }
            for p in fds where p.revents != 0 {
                if p.fd == writer {
                    let n = input[written...].withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
                    if n > 0 { written += n }
                    if (n < 0 && errno != EAGAIN && errno != EINTR) || written == input.count {
                        close(writer)
                        writer = -1
                    }
                    continue
                }
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    collected[p.fd]!.append(contentsOf: buffer[..<n])
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.remove(p.fd)
                }
            }
        }
        return (collected[stdout]!, collected[stderr]!)
    }

    /// A write to a pipe whose reader has exited must be an EPIPE here, not a signal that ends this process.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private static func pipe() throws(KumoError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { throw KumoError(.internal, "failed to create a pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    private static func open(_ stream: ChildStream, forWriting: Bool) throws(KumoError) -> Int32 {
        let fd: Int32
        switch stream {
        case .append(let path): fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        default: fd = Glibc.open("/dev/null", (forWriting ? O_WRONLY : O_RDONLY) | O_CLOEXEC)
        }
        guard fd >= 0 else {
            let path = if case .append(let path) = stream { path } else { "/dev/null" }
            throw KumoError(.internal, "failed to open \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// `posix_spawn` of `argv` with `stdio` (a descriptor per stream 0–2, -1 to keep this process's) and a clean
    /// signal state; returns the child's pid.
    private static func posixSpawn(_ argv: [String], environment: [String: String], stdio: [Int32], newSession: Bool)
        throws(KumoError) -> Int32
    {
        guard let program = argv.first, !program.isEmpty else {
            throw KumoError(.internal, "failed to run a command: empty argv")
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26) is a GNU extension the Glibc module does not show
        let setsid: Int32 = 0x80
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? setsid : 0)))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in stdio.enumerated() where fd >= 0 {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(target))
        }
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }
        let path = resolve(program)
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cArgv in
            withCStrings(env) { cEnv in
                if let path {
                    return posix_spawn(&pid, path, &actions, &attr, cArgv, cEnv)
                }
                return posix_spawnp(&pid, program, &actions, &attr, cArgv, cEnv)
            }
        }
        guard rc == 0 else { throw KumoError(.internal, "failed to run \(program): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34; a GNU extension the Glibc module does not
    /// show), looked up once. Without it, descriptors that are not close-on-exec leak into children.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return body(pointers)
    }
}

/// A child started by `Command.spawn`: wait for it (async or blocking), signal it, stop it. A thread of its own
/// waits for the child, so its status is known as soon as it exits, and the pid is never signalled after it has
/// been reaped (it could belong to another process by then).
public final class ChildProcess: Sendable {
    public let pid: Int32
    public let argv: [String]
    /// The exit status once known: the code, or 128 + the signal that ended it; -1 if someone else reaped it.
    private let status = Mutex<Int32?>(nil)
    private let exited = DispatchGroup()

    init(pid: Int32, argv: [String], ledger: SpawnLedger.Spawn) {
        self.pid = pid
        self.argv = argv
        exited.enter()
        Thread.detachNewThread { [self] in
            // wait without reaping, then reap under the lock `signal` takes: no signal can go to a recycled pid
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            status.withLock { status in
                var raw: Int32 = 0
                let reaped = waitpid(pid, &raw, WNOHANG)
                status = reaped == pid ? Self.decode(raw) : -1
            }
            ledger.end()
            exited.leave()
        }
    }

    /// nil while it runs.
    public var exitStatus: Int32? { status.withLock { $0 } }
    public var isRunning: Bool { exitStatus == nil }

    /// Sends `signal` unless the child has already exited.
    public func signal(_ signal: Int32) {
        status.withLock { if $0 == nil { _ = kill(pid, signal) } }
    }

    /// Waits for the child to exit; its exit status.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        exited.wait()
        return exitStatus ?? -1
    }

    /// Waits at most `timeout`; the exit status, or nil if it still runs.
    public func waitUntilExit(timeout: Duration) -> Int32? {
        let nanoseconds = Int(min(timeout / .nanoseconds(1), Double(Int.max / 2)))
        guard exited.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return exitStatus
    }

    /// Waits for the child to exit without holding a thread.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            exited.notify(queue: .global()) { continuation.resume(returning: self.exitStatus ?? -1) }
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`; its exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) -> Int32 {
        signal(SIGTERM)
        if let status = waitUntilExit(timeout: grace) { return status }
        signal(SIGKILL)
        return waitUntilExit()
    }

    /// A `wait` status as a shell shows it: the exit code, or 128 + the signal.
    static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}
