import KumoDoctor
import KumoModel
import Synchronization

/// The latest health report of each node's agent, kept in memory (not in the store: reports are measurements,
/// replaced every few seconds; a restarted server waits for the next round).
public final class NodeHealthReports: Sendable {
    private let reports = Mutex<[String: NodeHealthReport]>([:])

    public init() {}

    /// Keeps `report` as `node`'s latest, stamped with the time it arrived.
    public func record(_ report: NodeHealthReport, node: String, now: Timestamp = .now()) {
        var r = report
        r.node = node
        r.receivedAt = now.rfc3339
        reports.withLock { $0[node] = r }
    }

    public func all() -> [String: NodeHealthReport] { reports.withLock { $0 } }

    public func get(_ node: String) -> NodeHealthReport? { reports.withLock { $0[node] } }

    /// Forgets nodes that no longer exist.
    public func retain(_ nodes: Set<String>) {
        reports.withLock { $0 = $0.filter { nodes.contains($0.key) } }
    }
}

/// Store commit latencies of the last minute, for `STORE_COMMITS_SLOW` (the histogram in `/metrics` is
/// cumulative since start and cannot say "now").
public final class RecentCommits: Sendable {
    private struct Sample { var at: ContinuousClock.Instant; var ms: Double; var failed: Bool }
    private let samples = Mutex<[Sample]>([])
    private let window: Duration
    private let capacity: Int

    public init(window: Duration = .seconds(60), capacity: Int = 4096) {
        self.window = window
        self.capacity = capacity
    }

    func record(_ duration: Duration, failed: Bool = false) {
        let now = ContinuousClock.now
        samples.withLock { s in
            s.append(Sample(at: now, ms: Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15, failed: failed))
            if s.count > capacity { s.removeFirst(s.count - capacity) }
        }
    }

    /// Commits in the window: count, p99 and max in milliseconds, failures.
    public func summary() -> (count: Int, p99Ms: Double, maxMs: Double, failures: Int) {
        let cutoff = ContinuousClock.now - window
        let recent = samples.withLock { s -> [Sample] in
            s.removeAll { $0.at < cutoff }
            return s
        }
        let ok = recent.filter { !$0.failed }.map(\.ms).sorted()
        let p99 = ok.isEmpty ? 0 : ok[min(ok.count - 1, Int((Double(ok.count) * 0.99).rounded(.up)) - 1)]
        return (ok.count, p99, ok.last ?? 0, recent.filter(\.failed).count)
    }
}
