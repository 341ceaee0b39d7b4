import Foundation
import KumoModel
import Logging
import Synchronization

/// One replica on this node, from first start to removal: pull its image, build its network sandbox, run its
/// container, watch it, restart it per policy with backoff, probe it, and stop it in two phases. Its lifecycle
/// is the `State` enum; every change of it is reported as the replica's status.
///
/// One concern per file: the loop here; `+Start` (image, secrets, network, container), `+Secrets`, `+Exits`
/// (restart policy), `+Stop` (two-phase stop), `+Status` (record and reported status), `+Probes`.
final class ReplicaRunner: Sendable {
    enum State: Sendable, Equatable {
        /// Not started yet, or being started (image, network, container).
        case starting(reason: String)
        case running(pid: Int32, since: Timestamp)
        /// Exited (or failed to start); starts again at `until`.
        case backingOff(until: ContinuousClock.Instant, reason: String, message: String)
        /// Exited and, per restart policy, stays stopped.
        case finished(ReplicaPhase, exitCode: Int32?)
        /// Being stopped: SIGTERM, grace period, SIGKILL, clean-up.
        case terminating
        /// Container, sandbox and record are gone.
        case removed
    }

    struct Mutable: Sendable {
        var replica: Replica
        var state: State = .starting(reason: "Pending")
        var restartCount = 0
        var consecutiveFailures = 0
        var exitCode: Int32?
        var startedAt: Timestamp?
        var finishedAt: Timestamp?
        var ready = false
        var readyDetail: String?
        var stop: StopRequest?
        var lastStartError: String?
        var imageDigest: String?
    }

    struct StopRequest: Sendable, Equatable {
        /// Delete the replica from the API afterwards (a graceful deletion asked for it).
        var finalize: Bool
        var reason: String
    }

    let uid: String
    let project: String
    let name: String
    let plan: Mutex<ContainerPlan?>
    let context: RunnerContext
    /// The node's secrets (one watch for all runners): read at start, new versions delivered by the supervisor.
    let secrets: NodeSecrets
    let logger: Logger
    let m: Mutex<Mutable>

    init(
        replica: Replica, context: RunnerContext, secrets: NodeSecrets, adopted: ReplicaRecord? = nil,
        adoptedPid: Int32? = nil
    ) {
        self.uid = replica.metadata.uid ?? replica.metadata.name
        self.project = replica.metadata.project ?? ""
        self.name = replica.metadata.name
        self.context = context
        self.secrets = secrets
        var logger = context.logger
        logger[metadataKey: "replica"] = "\(project)/\(name)"
        self.logger = logger
        var state = Mutable(replica: replica)
        if let adopted {
            state.restartCount = adopted.restartCount
            state.startedAt = adopted.startedAt.flatMap(Timestamp.init(rfc3339:))
            if let pid = adoptedPid {
                state.state = .running(pid: pid, since: state.startedAt ?? Timestamp.now())
            }
        }
        self.m = Mutex(state)
        self.plan = Mutex(nil)
    }

    var state: State { m.withLock { $0.state } }
    var snapshot: Mutable { m.withLock { $0 } }

    /// A newer version of the replica object (status changes by others, labels; the spec of a replica does not
    /// change once bound).
    func update(_ replica: Replica) { m.withLock { $0.replica = replica } }

    /// Asks for the two-phase stop; the run loop carries it out.
    func requestStop(finalize: Bool, reason: String) {
        m.withLock { s in
            if s.stop == nil || (finalize && s.stop?.finalize == false) { s.stop = StopRequest(finalize: finalize, reason: reason) }
        }
    }

    var stopRequested: StopRequest? { m.withLock { $0.stop } }

    // MARK: The loop

    func run() async {
        if case .running = state {
            logger.info("adopted running container")
            report()
            await catchUpSecretFiles()
            await startProbes()
        }
        while stopRequested == nil, !Task.isCancelled {
            switch state {
            case .running(let pid, let since):
                await watch(pid: pid, since: since)
            case .backingOff(let until, _, _):
                if ContinuousClock.now >= until {
                    await start()
                } else {
                    try? await Task.sleep(for: min(.milliseconds(100), until - ContinuousClock.now))
                }
            case .starting:
                await start()
            case .finished:
                try? await Task.sleep(for: .milliseconds(200))
            case .terminating, .removed:
                return
            }
        }
        await terminate()
    }
}
