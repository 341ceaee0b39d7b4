import KumoModel
import Logging
import Synchronization

/// Renews the node's lease every interval (a small record, not a Node write, not in history), with the revision
/// the node's load balancer serves (`appliedRevision`), so the server holds it again soon after a restart. Failures
/// are logged once per outage and retried; the node lifecycle controller decides what a missing heartbeat means.
final class LeaseHeartbeat: Sendable {
    let api: AgentAPI
    let interval: Duration
    let durationSeconds: Int
    let appliedRevision: @Sendable () -> Int64?
    let logger: Logger
    private let stats = Mutex<(renewals: Int, failures: Int, last: Timestamp?, lastError: String?)>((0, 0, nil, nil))

    init(
        api: AgentAPI, interval: Duration, durationSeconds: Int, appliedRevision: @escaping @Sendable () -> Int64? = { nil },
        logger: Logger
    ) {
        self.api = api
        self.interval = interval
        self.durationSeconds = durationSeconds
        self.appliedRevision = appliedRevision
        self.logger = logger
    }

    func run() async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await api.renewLease(durationSeconds: durationSeconds, appliedRevision: appliedRevision())
                stats.withLock {
                    $0.renewals += 1
                    $0.last = Timestamp.now()
                    $0.lastError = nil
                }
                if failing { logger.notice("heartbeat restored") }
                failing = false
            } catch {
                stats.withLock {
                    $0.failures += 1
                    $0.lastError = error.message
                }
                if !failing { logger.warning("heartbeat failed; retrying", metadata: ["error": "\(error.message)"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
    }

    func state() -> JSONValue {
        let s = stats.withLock { $0 }
        return [
            "renewals": .number(Double(s.renewals)), "failures": .number(Double(s.failures)),
            "lastHeartbeat": s.last.map { .string($0.rfc3339) } ?? .null,
            "lastError": s.lastError.map { .string($0) } ?? .null,
            "intervalSeconds": .number(interval.secondsValue),
        ]
    }
}
