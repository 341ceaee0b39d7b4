import Foundation
import KumoControllers
import KumoDoctor
import KumoModel
import KumoStore
import Logging
import ServiceLifecycle
import Synchronization

/// Evaluates every health check every few seconds (in the controllers' process), keeps the latest findings for
/// `GET /api/v1/doctor`, records `HealthCheckFailed`/`HealthCheckCleared` events on transitions and keeps
/// `kumo_health_check` current. It only reads: the one thing it writes is events (and mutes, when asked).
public final class DoctorService: ServiceLifecycle.Service, Sendable {
    let core: ServerCore
    public let reports: NodeHealthReports
    let options: DoctorOptions
    let interval: Duration
    let logger: Logger
    /// The controllers' shared caches, when this process runs them: the objects are read from there.
    let informers: ControllerInformers?
    struct State {
        var findings: [Finding] = []
        var evaluatedAt: Timestamp?
        var tookMs: Double = 0
        var rounds = 0
        var lastError: String?
        var undecodable: Set<String> = []
        var primed = false
        /// Rounds whose objects came from the shared caches (the others read the store).
        var fromCaches = 0
    }
    let state = Mutex(State())
    /// One evaluation at a time (the loop's and fresh requests').
    private let evaluating = AsyncSerializer()

    public static let mutePrefix = "/doctor/mutes/"

    public init(
        core: ServerCore, reports: NodeHealthReports, options: DoctorOptions = DoctorOptions(), interval: Duration,
        informers: ControllerInformers? = nil, logger: Logger
    ) {
        self.core = core
        self.informers = informers
        self.reports = reports
        self.options = options
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                _ = try await evaluate()
            } catch {
                logger.warning("health evaluation failed", metadata: ["error": "\(error.message)"])
                state.withLock { $0.lastError = error.message }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }

    /// Runs every check now: snapshot, evaluate, names of writers from history, mutes, transitions → events,
    /// metrics. Returns the findings with mutes marked.
    @discardableResult
    public func evaluate() async throws(KumoError) -> [Finding] {
        try await evaluating.run { () async throws(KumoError) -> [Finding] in
            let start = ContinuousClock.now
            let now = Timestamp.now()
            var snapshot = try await self.snapshot(now: now)
            var findings = Doctor.evaluate(snapshot)
            if !findings.isEmpty {
                await self.addChanges(for: findings, to: &snapshot)
                if !snapshot.changes.isEmpty { findings = Doctor.evaluate(snapshot) }
            }
            let mutes = await self.mutes()
            let (_, lapsed) = HealthMutes.apply(mutes, to: &findings, now: now)
            for m in lapsed { await self.deleteMute(m.code) }
            let (previous, primed) = self.state.withLock { ($0.findings, $0.primed) }
            // the first round after a start only learns what is failing: no event storm on every restart
            if primed { await self.recordTransitions(previous: previous, current: findings) }
            self.core.metrics.healthChecks.update(findings)
            let took = (ContinuousClock.now - start)
            self.state.withLock {
                $0.findings = findings
                $0.evaluatedAt = now
                $0.tookMs = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
                $0.rounds += 1
                $0.lastError = nil
                $0.primed = true
            }
            return findings
        }
    }

    /// The latest findings (evaluating first when `fresh` or when nothing was evaluated yet).
    public func findings(fresh: Bool) async throws(KumoError) -> (findings: [Finding], at: Timestamp) {
        if !fresh, let (f, at) = state.withLock({ s in s.evaluatedAt.map { (s.findings, $0) } }) { return (f, at) }
        let f = try await evaluate()
        return (f, state.withLock { $0.evaluatedAt } ?? .now())
    }

    func recordTransitions(previous: [Finding], current: [Finding]) async {
        let (failed, cleared) = HealthTransitions.diff(previous: previous, current: current)
        var ops: [KumoStore.Operation] = []
        for (f, reason) in failed.map({ ($0, "HealthCheckFailed") }) + cleared.map({ ($0, "HealthCheckCleared") }) {
            let made = EventFactory.make(
                regarding: Self.regarding(f), reason: reason, type: reason == "HealthCheckFailed" && f.severity != .info ? "Warning" : "Normal",
                source: "doctor", message: "\(f.code) (\(f.severity.rawValue), \(f.component.rawValue)): \(f.summary)")
            ops.append(.put(made.key, made.bytes))
            logger.log(
                level: reason == "HealthCheckFailed" && f.severity == .error ? .warning : .info,
                reason == "HealthCheckFailed" ? "health check failed" : "health check cleared",
                metadata: ["code": "\(f.code)", "component": "\(f.component.rawValue)", "node": "\(f.node ?? "")", "summary": "\(f.summary)"])
        }
        guard !ops.isEmpty else { return }
        do {
            for chunk in stride(from: 0, to: ops.count, by: 100) {
                _ = try await core.store.commit(Txn(operations: Array(ops[chunk..<min(chunk + 100, ops.count)])))
            }
        } catch {
            logger.warning("failed to record health events", metadata: ["error": "\(error)"])
        }
    }

    /// What a finding's events regard: its object, else its node, else (a cluster-wide finding) the component
    /// responsible: `kumo events --for component/store`.
    static func regarding(_ f: Finding) -> ObjectReference {
        if let o = f.object, let kind = Kind(rawValue: o.kind) {
            return ObjectReference(kind: kind, name: o.name, project: kind.scope == .cluster ? nil : o.project)
        }
        if let node = f.node { return ObjectReference(kind: .node, name: node) }
        return .component(f.component.rawValue)
    }

    func undecodable(_ key: String, _ error: KumoError) {
        let first = state.withLock { $0.undecodable.insert(key).inserted }
        if first { logger.warning("doctor: an object does not decode; left out", metadata: ["key": "\(key)", "error": "\(error.message)"]) }
    }

    /// `kumo state server` → controllers.doctor.
    public func snapshotState() -> JSONValue {
        state.withLock { s in
            var bySeverity: [String: JSONValue] = [:]
            for sev in Severity.allCases { bySeverity[sev.rawValue] = .number(Double(s.findings.filter { $0.severity == sev }.count)) }
            return [
                "rounds": .number(Double(s.rounds)), "evaluatedAt": s.evaluatedAt.map { .string($0.rfc3339) } ?? .null,
                "lastEvaluationMs": .number((s.tookMs * 10).rounded() / 10), "findings": .object(bySeverity),
                "reportingNodes": .number(Double(reports.all().count)), "lastError": s.lastError.map { .string($0) } ?? .null,
                "intervalSeconds": .number(interval.secondsValue), "roundsFromCaches": .number(Double(s.fromCaches)),
            ]
        }
    }
}

/// Runs async bodies one at a time, in arrival order.
final class AsyncSerializer: Sendable {
    private let tail = Mutex<Task<Void, Never>?>(nil)

    func run<T: Sendable>(_ body: @escaping @Sendable () async throws(KumoError) -> T) async throws(KumoError) -> T {
        let (previous, mine): (Task<Void, Never>?, Task<Result<T, KumoError>, Never>) = tail.withLock { t in
            let previous = t
            let mine = Task<Result<T, KumoError>, Never> {
                await previous?.value
                do throws(KumoError) {
                    return .success(try await body())
                } catch {
                    return .failure(error)
                }
            }
            t = Task { _ = await mine.value }
            return (previous, mine)
        }
        _ = previous
        return try await mine.value.get()
    }
}
