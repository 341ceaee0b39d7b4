import Foundation
import KumoModel
import KumoSystem
import Logging
import Synchronization
import Testing

@testable import KumoAgent

#if canImport(Glibc)
    import Glibc
#endif

/// The sweep of orphaned zombies against real processes: orphans made through `Command` come back to this
/// process (a subreaper, like the agent), turn into zombies, and one sweep reaps them with their exit codes —
/// while `Command`s running at the same time never lose their own children to it.
@Suite(.serialized)
struct ChildReaperTests {
    let reaper: ChildReaper

    init() throws {
        var logger = Logger(label: "kumo.test.sweep")
        logger.logLevel = .info
        reaper = try ChildReaper(logger: logger)
    }

    @Test func statLinesParse() {
        let s = ProcessStat.parse("4242 (my (odd) name) Z 17 4242 4242 0 -1 4194308 0 0")
        #expect(s == ProcessStat(pid: 4242, name: "my (odd) name", state: "Z", ppid: 17))
        #expect(s?.exited == true)
        #expect(ProcessStat.parse("1 (init) S 0 1 1")?.exited == false)
        #expect(ProcessStat.parse("garbage") == nil)
        #expect(ProcessStat.read(getpid())?.ppid == getppid())
        #expect(ProcessStat.isLive(getpid()))
    }

    /// The pids `sh` printed for its background jobs.
    static func pids(_ out: String) -> [Int32] { out.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) } }

    /// Waits until each of `pids` is a zombie child of this process.
    static func waitForZombies(_ pids: [Int32], timeout: Duration = .seconds(10)) async -> [Int32] {
        let me = getpid()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let waiting = pids.filter { pid in
                guard let s = ProcessStat.read(pid) else { return true }
                return !(s.exited && s.ppid == me)
            }
            if waiting.isEmpty { return [] }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return pids.filter { ProcessStat.read($0).map { !$0.exited || $0.ppid != me } ?? true }
    }

    @Test func orphansOfCommandsAreReapedWithTheirExitCodes() async throws {
        #expect(ChildReaper.isSubreaper)
        // background jobs outlive their shell: re-parented here, then zombies nobody else waits for
        var orphans: [(pid: Int32, code: Int32)] = []
        for code in Int32(3)...Int32(7) {
            let out = try await Command().check(["sh", "-c", "(sleep 0.2; exit \(code)) & echo $!"])
            let pid = try #require(Self.pids(out).first)
            orphans.append((pid, code))
        }
        // a daemon: double fork, the middle process exits at once (like HAProxy -D and QEMU -daemonize)
        let daemon = try #require(
            Self.pids(try await Command().check(["sh", "-c", "sh -c '(sleep 0.2; exit 9) & echo $!' & wait"])).first)
        orphans.append((daemon, 9))

        let notZombies = await Self.waitForZombies(orphans.map(\.pid))
        #expect(notZombies.isEmpty, "never became zombie children of this process: \(notZombies)")
        let reaped = await reaper.sweep()
        #expect(reaped >= orphans.count)
        for (pid, code) in orphans {
            #expect(ProcessStat.read(pid) == nil, "\(pid) still in /proc after the sweep")
            #expect(reaper.status(of: pid) == .exited(code), "exit code of \(pid) kept")
        }
        for (pid, _) in orphans { reaper.forget(pid) }
    }

    /// Without the ledger a sweep takes children Subprocess is about to wait for, and their `Command.run`
    /// throws (ECHILD) or loses its status; with it, none of hundreds of runs is disturbed.
    @Test func commandsRunUndisturbedWhileSweeping() async throws {
        let stop = Atomic<Bool>(false)
        let before = ChildReaper.counters
        // sweeps back to back, as a much busier agent would: each holds new spawns back while it drains
        let sweeper = Task.detached { [reaper] in
            while !stop.load(ordering: .relaxed) {
                await reaper.sweep()
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        let failed = await withTaskGroup(of: [String].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var failures: [String] = []
                    for i in 0..<40 {
                        let code = Int32((worker * 40 + i) % 200)
                        do throws(KumoError) {
                            // exits at once, and leaves an orphan that exits a moment later: both kinds of zombie
                            let r = try await Command().run(["sh", "-c", "(exit 0) & exit \(code)"])
                            if r.status != code { failures.append("exit \(code) reported as \(r.status)") }
                        } catch {
                            failures.append(error.message)
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        stop.store(true, ordering: .relaxed)
        await sweeper.value
        let after = ChildReaper.counters
        #expect(after.sweeps - before.sweeps > 10, "sweeps done: \(after.sweeps - before.sweeps), given up: \(after.busy - before.busy)")
        #expect(after.reaped > before.reaped, "the orphans of the runs were reaped meanwhile")
        #expect(failed.isEmpty, "\(failed.count) of 240 runs failed: \(failed.prefix(5))")
    }

    @Test func ledgerCountsSpawnsUntilReaped() async throws {
        /// The ledger's answer once no other test's spawn is in flight (they run in parallel).
        func whenQuiescent<T: Sendable>(_ body: (Set<Int32>) -> T) async -> T? {
            for _ in 0..<500 {
                if let value = SpawnLedger.shared.whileQuiescent(body) { return value }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return nil
        }
        let spawn = await SpawnLedger.shared.begin()
        #expect(SpawnLedger.shared.whileQuiescent { _ in 1 } == nil, "no sweep while a spawn is between clone and registration")
        spawn.started(999_999_999)
        #expect(await whenQuiescent { $0.contains(999_999_999) } == true)
        spawn.end()
        spawn.end()
        #expect(await whenQuiescent { $0.contains(999_999_999) } == false)
        do {
            _ = await SpawnLedger.shared.begin()  // dropped without end(): deinit ends it
        }
        #expect(await whenQuiescent { _ in 1 } == 1)
    }
}

/// Zombie children of this process that outlive `period` — while a sweep loop runs (as in the agent), none
/// should. Taken twice: the kernel does not reuse a zombie's pid, so one seen both times has waited the whole
/// period; a zombie seen once may be another test's process in the instant before its owner reaps it.
func lingeringZombies(period: Duration = .milliseconds(2500)) async -> [ProcessStat] {
    let me = getpid()
    let first = ProcessStat.children(of: me).filter(\.exited)
    guard !first.isEmpty else { return [] }
    try? await Task.sleep(for: period)
    let second = Set(ProcessStat.children(of: me).filter(\.exited).map(\.pid))
    return first.filter { second.contains($0.pid) }
}
