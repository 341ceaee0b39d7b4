import Foundation
import KumoAPI
import KumoDoctor
import KumoModel
import Logging
import Synchronization

/// The agent side of `kumo doctor`: every `interval`, measures what only the node can see — dnsmasq and HAProxy
/// by a real answer, DHCP refusals by MAC, peers across the underlay (small and full-size don't-fragment pings),
/// the overlay's programming, KVM and disk, its certificate, the last log line of replicas waiting to restart —
/// and posts it as a `NodeHealthReport` (`POST /api/v1/nodes/NAME/health`). Facts only: the server's checks
/// judge. Every measurement has a deadline; one that runs out is reported as a failure, never waited for.
final class HealthReporter: Sendable {
    struct Sources: Sendable {
        var api: AgentAPI
        var dnsmasq: DnsmasqSupervisor
        var loadBalancer: LoadBalancerManager
        var overlay: OverlayManager
        var accel: AccelProbe
        var replicas: ReplicaSupervisor
    }

    struct Settings: Sendable {
        var node: String
        var interval: Duration
        var hostNetns: String?
        var dataDir: String
        var certificatePath: String
        /// The overlay's MTU: the full-size peer probe is this plus VXLAN overhead.
        var overlayMTU: Int
    }

    let sources: Sources
    let settings: Settings
    let logger: Logger
    private let latestReport = Mutex<NodeHealthReport?>(nil)
    /// Which peers the next round probes (all of them up to 32; beyond, a moving window plus last round's failures).
    let peerSample = Mutex(PeerSample())
    private let posting = Mutex<(posted: Int, failures: Int, lastError: String?)>((0, 0, nil))

    init(sources: Sources, settings: Settings, logger: Logger) {
        self.sources = sources
        self.settings = settings
        self.logger = logger
    }

    /// The last report measured (posted or not).
    var latest: NodeHealthReport? { latestReport.withLock { $0 } }

    func run() async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let report = await measure()
            latestReport.withLock { $0 = report }
            await post(report)
            let left = settings.interval - (ContinuousClock.now - started)
            try? await Task.sleep(for: max(left, .milliseconds(500)))
        }
    }

    func post(_ report: NodeHealthReport) async {
        do {
            _ = try await sources.api.client.send(.POST, APIPaths.nodeHealth(settings.node), body: encodeJSON(report))
            let recovered = posting.withLock { p -> Bool in
                defer { p.posted += 1; p.lastError = nil }
                return p.lastError != nil
            }
            if recovered { logger.info("node health reports are accepted again") }
        } catch {
            let first = posting.withLock { p -> Bool in
                defer { p.failures += 1; p.lastError = error.message }
                return p.lastError == nil
            }
            // once per failure streak: the report repeats every few seconds
            if first { logger.warning("failed to post the node health report", metadata: ["error": "\(error.message)"]) }
        }
    }

    /// For the agent's `/debug/state` (`"health"`): the latest report and how posting goes.
    func state() -> JSONValue {
        let p = posting.withLock { $0 }
        return [
            "interval": .string(settings.interval.shortDescription),
            "posted": .number(Double(p.posted)), "postFailures": .number(Double(p.failures)),
            "lastPostError": p.lastError.map { .string($0) } ?? .null,
            "report": latest.map { encode($0) } ?? .null,
        ]
    }
}
