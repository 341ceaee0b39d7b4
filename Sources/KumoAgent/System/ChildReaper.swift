import KumoModel
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Collects container exit codes. `runc run -d` exits as soon as the container has started, which orphans the
/// container's init process; as a child subreaper the agent becomes its parent, so the kernel keeps the exit
/// status for us and `waitpid` can read it — the only place a container's real exit code exists.
///
/// Only pids are ever waited for, never `-1`: Swift Subprocess (and any other library) reaps its own children by
/// pid or pidfd, and a wait-for-any here would steal their statuses.
///
/// Containers adopted after an agent restart were reparented to the previous agent (or to init when it died),
/// so they are not our children: `status(of:)` says `.notAChild` and their exit code is unknown — the runner
/// must report that rather than guess.
public final class ChildReaper: Sendable {
    public enum Status: Sendable, Equatable {
        case running
        /// Exit code, or 128 + signal when killed by a signal (the shell convention runc and Kubernetes use).
        case exited(Int32)
        /// Not our child (never was, or adopted across an agent restart): the exit code cannot be known.
        case notAChild
    }

    private let reaped = Mutex<[Int32: Int32]>([:])
    private let logger: Logger

    /// Makes this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER, 1)`); the setting is per process
    /// and inherited by nothing, so one call at agent start is enough.
    public init(logger: Logger) throws(KumoError) {
        self.logger = logger
        try Self.becomeSubreaper()
    }

    public static func becomeSubreaper() throws(KumoError) {
        // PR_SET_CHILD_SUBREAPER = 36 (linux/prctl.h); Glibc's variadic prctl is not imported into Swift.
        if kumoPrctl(36, 1) != 0 {
            throw KumoError(.internal, "failed to become a child subreaper: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether this process is currently a child subreaper.
    public static var isSubreaper: Bool {
        var value: Int32 = 0
        return withUnsafeMutablePointer(to: &value) { kumoPrctlPointer(37, $0) } == 0 && value != 0
    }

    /// The exit code of `pid` (128 + signal when killed), nil while it runs or when it is not our child.
    public func exitStatus(of pid: Int32) -> Int32? {
        if case .exited(let code) = status(of: pid) { return code }
        return nil
    }

    /// Polls `pid` without blocking (`waitpid(pid, WNOHANG)`); a status once reaped is remembered until
    /// `forget(_:)`, because the kernel gives it out only once.
    public func status(of pid: Int32) -> Status {
        guard pid > 0 else { return .notAChild }
        return reaped.withLock { known -> Status in
            if let code = known[pid] { return .exited(code) }
            var raw: Int32 = 0
            while true {
                let r = waitpid(pid, &raw, WNOHANG)
                if r == 0 { return .running }
                if r == pid {
                    let code = Self.decode(raw)
                    known[pid] = code
                    logger.debug("reaped container process", metadata: ["pid": "\(pid)", "status": "\(code)"])
                    return .exited(code)
                }
                if errno == EINTR { continue }
                return .notAChild
            }
        }
    }

    /// Drops a remembered status (after it has been reported), so a reused pid is not mistaken for it.
    public func forget(_ pid: Int32) {
        _ = reaped.withLock { $0.removeValue(forKey: pid) }
    }

    /// WIFEXITED → WEXITSTATUS; WIFSIGNALED → 128 + WTERMSIG (the macros are not imported into Swift).
    static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        if signal == 0 { return (raw >> 8) & 0xff }
        return 128 + signal
    }
}

/// Glibc's `prctl` is variadic, which Swift does not import; look it up and call it with five integer arguments
/// (how the kernel reads them anyway).
private typealias PrctlFunction = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

private func prctlFunction() -> PrctlFunction? {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return nil }
    return unsafeBitCast(symbol, to: PrctlFunction.self)
}

private func kumoPrctl(_ option: Int32, _ value: UInt) -> Int32 {
    guard let prctl = prctlFunction() else {
        errno = ENOSYS
        return -1
    }
    return prctl(option, value, 0, 0, 0)
}

private func kumoPrctlPointer(_ option: Int32, _ pointer: UnsafeMutablePointer<Int32>) -> Int32 {
    guard let prctl = prctlFunction() else { return -1 }
    return prctl(option, UInt(bitPattern: pointer), 0, 0, 0)
}
