import Dispatch
import Foundation
import KumoModel
import KumoSystem
import Synchronization

/// How long a supervisor waits before starting a crashed daemon again: 1 s, doubling to 30 s, and back to 1 s
/// once the daemon had stayed up 60 s. A pure value (tested without processes).
public struct RestartBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var resetAfter: Duration
    /// The delay the next restart waits (before `next`'s reset).
    public private(set) var current: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(30), resetAfter: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
        self.resetAfter = resetAfter
        current = initial
    }

    /// The delay before restarting a daemon that ran for `uptime`; the one after it doubles (up to `maximum`).
    public mutating func next(uptime: Duration) -> Duration {
        if uptime >= resetAfter { current = initial }
        let delay = current
        current = min(current * 2, maximum)
        return delay
    }
}

/// What `kumo-local supervise` does for each of `make run`'s daemons: runs `argv` (its output appended to `log`,
/// its pid in `pidFile`) and, when it exits for any reason other than `stop()`, starts it again after the
/// `RestartBackoff` delay, writing one line per restart into `log`:
/// `kumo-local supervise: PROGRAM exited with status N after Ts; restarting in Ds`.
/// `stop()` (the command's SIGTERM/SIGINT) sends SIGTERM to the daemon — its graceful stop — waits for it, removes
/// `pidFile` and ends `run()`. Production supervises the daemons with systemd instead (docs/operations.md).
public final class Supervisor: Sendable {
    public let argv: [String]
    public let pidFile: String
    public let log: String
    private let backoff: RestartBackoff

    private struct State {
        var stopping = false
        var child: ChildProcess?
    }

    private let state = Mutex(State())
    /// Signalled by `stop()`: ends a restart delay early.
    private let wake = DispatchSemaphore(value: 0)

    /// The start of each restart line, which `make run` also looks for to tell that a daemon failed to start.
    public static let restartMarker = "kumo-local supervise: "

    public init(argv: [String], pidFile: String, log: String, backoff: RestartBackoff = RestartBackoff()) {
        self.argv = argv
        self.pidFile = pidFile
        self.log = log
        self.backoff = backoff
    }

    /// Supervises until `stop()`.
    public func run() {
        var backoff = self.backoff
        let name = URL(fileURLWithPath: argv.first ?? "").lastPathComponent
        while true {
            let started = ContinuousClock.now
            let status: Int32
            var failure = ""
            do {
                let child = try state.withLock { s throws(KumoError) -> ChildProcess? in
                    guard !s.stopping else { return nil }
                    s.child = try Command().spawn(argv, options: SpawnOptions(stdout: .append(log), stderr: .append(log)))
                    return s.child
                }
                guard let child else { break }
                try? Data("\(child.pid)\n".utf8).write(to: URL(fileURLWithPath: pidFile), options: .atomic)
                status = child.waitUntilExit()
            } catch {
                // as a shell reports a program it cannot run
                status = 127
                failure = " (\((error as? KumoError)?.message ?? "\(error)"))"
            }
            if state.withLock({ $0.stopping }) { break }
            let up = ContinuousClock.now - started
            let delay = backoff.next(uptime: up)
            appendText(
                "\(Self.restartMarker)\(name) exited with status \(status) after \(up.components.seconds)s\(failure); "
                    + "restarting in \(Self.seconds(delay))s\n", to: log)
            _ = wake.wait(timeout: .now() + .milliseconds(Int(delay / .milliseconds(1))))
            if state.withLock({ $0.stopping }) { break }
        }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    /// Stops the daemon (SIGTERM) and then the loop; safe from any thread, more than once.
    public func stop() {
        let child = state.withLock { s -> ChildProcess? in
            s.stopping = true
            return s.child
        }
        child?.signal(SIGTERM)
        wake.signal()
    }

    /// Whole seconds when whole (the shell script's format), else with the fraction.
    private static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        return atto == 0 ? "\(s)" : String(format: "%.3g", Double(s) + Double(atto) / 1e18)
    }
}
