import KumoModel
import KumoSystem
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reaps the agent's children that nobody else waits for, and keeps the exit codes of container processes.
///
/// The agent is a child subreaper, so orphans of its children become its own: `runc run -d` exits as soon as
/// the container has started, which makes the container's init the agent's child (and its exit status, kept by
/// the kernel until the agent waits, is the only place a container's real exit code exists); HAProxy's `-D`
/// daemon and every old HAProxy replaced by a reload (`-sf`), QEMU's `-daemonize` intermediate and daemon,
/// dnsmasq, and a probe left inside a container when its `runc exec` was killed land here too. Unreaped, each
/// stays a zombie — 64 of them after 10 rescales on a demo cloud.
///
/// `sweep()` finds zombie children in /proc and waits for each by pid — never `-1`: Swift Subprocess reaps its
/// own children by pid after their pidfd fires, and a wait-for-any would take their statuses (its `waitid`
/// then fails with ECHILD). Children in `SpawnLedger` are skipped, and a sweep runs only while no spawn is in
/// flight (see `SpawnLedger` for why that is enough). `run(every:)` sweeps periodically for the agent.
///
/// Exit codes the kernel hands out are kept process-wide (one table, like the kernel's), so a container's code
/// reaped by a sweep is still what `status(of:)` reports for it.
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

    /// Exit codes reaped, by pid, with when: kept for `keepFor` and at most `keepAtMost` (a runner asks within
    /// a poll interval; the bounds only stop the table from growing with every reaped orphan).
    struct ExitTable {
        static let keepFor: Duration = .seconds(600)
        static let keepAtMost = 4096
        var codes: [Int32: (code: Int32, at: ContinuousClock.Instant)] = [:]

        mutating func record(_ pid: Int32, _ code: Int32) {
            let now = ContinuousClock.now
            codes[pid] = (code, now)
            guard codes.count > Self.keepAtMost else { return }
            codes = codes.filter { now - $0.value.at < Self.keepFor }
            while codes.count > Self.keepAtMost, let oldest = codes.min(by: { $0.value.at < $1.value.at }) {
                codes.removeValue(forKey: oldest.key)
            }
        }
    }

    private static let exits = Mutex(ExitTable())
    private static let totals = Mutex<(sweeps: Int, reaped: Int, busy: Int)>((0, 0, 0))
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

    /// Polls `pid` without blocking. The kernel gives a status out only once, so a reaped code (here or by a
    /// sweep) is remembered — and believed only while no newer process has that pid.
    public func status(of pid: Int32) -> Status {
        guard pid > 0 else { return .notAChild }
        let polled = SpawnLedger.shared.whileQuiescent { owned in
            Self.exits.withLock { table -> Status in
                // a Command child has this pid now: the process asked about is long gone
                if owned.contains(pid) { return table.codes[pid].map { .exited($0.code) } ?? .notAChild }
                var raw: Int32 = 0
                while true {
                    let r = waitpid(pid, &raw, WNOHANG)
                    if r == 0 {
                        table.codes.removeValue(forKey: pid)
                        return .running
                    }
                    if r == pid {
                        let code = Self.decode(raw)
                        table.record(pid, code)
                        logger.debug("reaped container process", metadata: ["pid": "\(pid)", "status": "\(code)"])
                        return .exited(code)
                    }
                    if errno == EINTR { continue }
                    break
                }
                if let known = table.codes[pid] {
                    if ProcessStat.read(pid) == nil { return .exited(known.code) }
                    table.codes.removeValue(forKey: pid)  // the pid was reused by a process that is not ours
                }
                return .notAChild
            }
        }
        if let polled { return polled }
        // a spawn is in flight, so no wait now (it could take that child): what is known, else what /proc says
        // — our child, alive or not reaped yet ("no news": the next poll reaps it), or not ours
        if let known = Self.exits.withLock({ $0.codes[pid] }), ProcessStat.read(pid) == nil { return .exited(known.code) }
        guard let stat = ProcessStat.read(pid), stat.ppid == getpid() else { return .notAChild }
        return .running
    }

    /// Drops a remembered status (after it has been reported), so a reused pid is not mistaken for it.
    public func forget(_ pid: Int32) {
        _ = Self.exits.withLock { $0.codes.removeValue(forKey: pid) }
    }

    /// Reaps every zombie child no one else waits for; returns how many, or nil when a spawn was in flight
    /// (nothing reaped — try again, or use `sweep()`). Their exit codes go to the table `status(of:)` reads.
    public func sweepOnce() -> Int? {
        let zombies = ProcessStat.children(of: getpid()).filter(\.exited)
        guard !zombies.isEmpty else { return record([]) }
        guard let reaped = SpawnLedger.shared.whileQuiescent({ Self.reap(zombies, except: $0) }) else {
            _ = record(nil)
            return nil
        }
        return record(reaped)
    }

    /// Reaps every zombie child no one else waits for, holding new spawns back for the moment it takes (see
    /// `SpawnLedger.quiesce`); returns how many.
    @discardableResult
    public func sweep() async -> Int {
        let zombies = ProcessStat.children(of: getpid()).filter(\.exited)
        guard !zombies.isEmpty else { return record([]) }
        return record(await SpawnLedger.shared.quiesce { Self.reap(zombies, except: $0) })
    }

    /// Waits for each of `zombies` not in `owned`, by pid, without blocking; keeps their exit codes.
    private static func reap(_ zombies: [ProcessStat], except owned: Set<Int32>) -> [ProcessStat] {
        exits.withLock { table in
            var reaped: [ProcessStat] = []
            for zombie in zombies where !owned.contains(zombie.pid) {
                var raw: Int32 = 0
                var r: Int32
                repeat { r = waitpid(zombie.pid, &raw, WNOHANG) } while r < 0 && errno == EINTR
                guard r == zombie.pid else { continue }
                table.record(zombie.pid, decode(raw))
                reaped.append(zombie)
            }
            return reaped
        }
    }

    /// Counts a sweep (nil: put off by a spawn in flight) and logs what it reaped.
    private func record(_ reaped: [ProcessStat]?) -> Int {
        guard let reaped else {
            Self.totals.withLock { $0.busy += 1 }
            return 0
        }
        Self.totals.withLock {
            $0.sweeps += 1
            $0.reaped += reaped.count
        }
        if !reaped.isEmpty {
            logger.debug(
                "reaped orphaned children",
                metadata: ["count": "\(reaped.count)", "processes": "\(reaped.map { "\($0.name)[\($0.pid)]" })"])
        }
        return reaped.count
    }

    /// Sweeps every `interval` until cancelled (the agent's task group).
    public func run(every interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            await sweep()
            try? await Task.sleep(for: interval)
        }
    }

    /// Sweeps done, orphans reaped, and sweeps that gave up on spawns in flight (process-wide).
    public static var counters: (sweeps: Int, reaped: Int, busy: Int) { totals.withLock { $0 } }

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
