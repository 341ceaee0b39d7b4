import KumoModel
import Logging

/// What every runner on this node shares: the node seams (driver, images), the API, the reporter and settings.
struct RunnerContext: Sendable {
    let api: AgentAPI
    let driver: any SandboxDriver
    let images: any ImageProvider
    let reporter: StatusReporter
    let probes: ProbeChecker
    let metrics: AgentMetrics
    let namer: SandboxNamer
    let subnet: IPv4Network
    let recordsDir: String
    let backoff: RestartDecision.Backoff
    let exitPollInterval: Duration
    let defaultGracePeriodSeconds: Int
    /// Runs between "marked terminating" and SIGTERM: the load-balancer issue waits here until no node's HAProxy
    /// sends to the replica any more.
    let beforeStop: @Sendable (Replica) async -> Void
    let logger: Logger
}
