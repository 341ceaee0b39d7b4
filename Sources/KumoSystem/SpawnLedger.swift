import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The children this process has spawned and someone is waiting for — so that a reaper of orphans can tell
/// them apart from the orphans.
///
/// Why: the agent is a child subreaper, so every daemon it starts (HAProxy's `-D` fork, QEMU's `-daemonize`
/// grandchild, dnsmasq) and every process left behind by a killed `runc exec` becomes its child, and stays a
/// zombie until the agent waits for it. Swift Subprocess (behind `Command`) reaps its own children with a
/// blocking `waitid(P_PID, pid)` once their pidfd fires; if anyone else reaped such a child first, that
/// `waitid` fails with ECHILD and `Command.run` throws "failed to run". So orphans can only be reaped by pid,
/// and only pids that are not Subprocess's.
///
/// How it stays sound: a pid is not reused while its zombie exists, and `whileQuiescent` runs its body only
/// when no spawn is between `clone` and `started(_:)` — then every unreaped Subprocess child is in `owned`,
/// and any other zombie child is an orphan nobody waits for. The rule this relies on: everything in Kumo's
/// daemons spawns through `Command` (the testbed and `kumo-local` do too; Foundation's `Process` in a test is not
/// tracked: a sweep there can collect one of its children in the instant between its exit and its own wait).
public final class SpawnLedger: Sendable {
    /// The process-wide ledger (children belong to the process, not to an object).
    public static let shared = SpawnLedger()

    struct State {
        var spawning = 0
        var owned: Set<Int32> = []
        /// Sweeps waiting for the spawns in flight to register; new spawns wait meanwhile.
        var draining = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Call before spawning; the returned `Spawn` must see `started(_:)` once the pid is known and `end()` once
    /// the child has been reaped (or the spawn failed). Until then, `whileQuiescent` refuses to run. Waits while
    /// a sweep drains (about a millisecond: the spawns in flight registering, then a few `waitpid`s).
    public func begin() async -> Spawn {
        while !admit() {
            Self.pause()
            await Task.yield()
        }
        return Spawn(ledger: self)
    }

    /// `begin()` for a caller that cannot suspend (`Command.spawn`, `Command.runBlocking`): the same admission,
    /// waiting with the same short pauses.
    public func beginBlocking() -> Spawn {
        while !admit() { Self.pause() }
        return Spawn(ledger: self)
    }

    /// Counts a spawn in flight unless a sweep is draining.
    private func admit() -> Bool {
        state.withLock { s -> Bool in
            guard s.draining == 0 else { return false }
            s.spawning += 1
            return true
        }
    }

    /// Runs `body` with the pids whose owners will wait for them, when no spawn is in flight; nil (and `body`
    /// not run) while one is. `body` runs under the ledger's lock — keep it short and non-blocking (no new
    /// spawn can register meanwhile, which is the point).
    public func whileQuiescent<T: Sendable>(_ body: (Set<Int32>) -> T) -> T? {
        state.withLock { s -> T? in
            guard s.spawning == 0 else { return nil }
            return body(s.owned)
        }
    }

    /// `whileQuiescent`, but new spawns are held back until the ones in flight have registered, so a busy
    /// process (spawns overlapping all the time) still gets its sweep. Gives up (nil) after `patience` — a
    /// spawn that never registers must not stall every other spawn.
    public func quiesce<T: Sendable>(patience: Duration = .milliseconds(500), _ body: (Set<Int32>) -> T) async -> T? {
        state.withLock { $0.draining += 1 }
        defer { state.withLock { $0.draining -= 1 } }
        let deadline = ContinuousClock.now + patience
        while true {
            if let value = whileQuiescent(body) { return value }
            if ContinuousClock.now > deadline { return nil }
            Self.pause()
            await Task.yield()
        }
    }

    /// 100 µs, not a `Task.sleep`: the waits here are that short, and a cancelled task's sleep would return at
    /// once and spin.
    private static func pause() { usleep(100) }

    /// For `kumo state` and tests: spawns in flight and children owned right now.
    public var counts: (spawning: Int, owned: Int) {
        state.withLock { ($0.spawning, $0.owned.count) }
    }

    fileprivate func started(_ pid: Int32) {
        state.withLock {
            $0.spawning -= 1
            $0.owned.insert(pid)
        }
    }

    fileprivate func abandoned() {
        state.withLock { $0.spawning -= 1 }
    }

    fileprivate func finished(_ pid: Int32) {
        _ = state.withLock { $0.owned.remove(pid) }
    }

    /// One spawn's registration. `end()` is idempotent and also runs at deinit, so a forgotten call cannot
    /// leave the ledger "in flight" forever (which would stop every sweep).
    public final class Spawn: Sendable {
        enum Phase { case starting, running(Int32), ended }

        private let ledger: SpawnLedger
        private let phase = Mutex(Phase.starting)

        fileprivate init(ledger: SpawnLedger) { self.ledger = ledger }

        /// The child exists with `pid` and its owner will wait for it.
        public func started(_ pid: Int32) {
            phase.withLock { p in
                guard case .starting = p else { return }
                ledger.started(pid)
                p = .running(pid)
            }
        }

        /// The child has been reaped by its owner, or was never created.
        public func end() {
            phase.withLock { p in
                switch p {
                case .starting: ledger.abandoned()
                case .running(let pid): ledger.finished(pid)
                case .ended: break
                }
                p = .ended
            }
        }

        deinit { end() }
    }
}
