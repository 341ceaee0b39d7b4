import KumoControllers
import KumoModel
import Testing

/// A tiny in-memory world for the workload reconciler: applies its actions the way the shell and the agents
/// would (created replicas start Pending; deleted ones become Terminating; a revert rewrites the template),
/// and lets tests move the world one event at a time. The trace has one line per reconcile (`+` create,
/// `-` delete, `!` event, `·` nothing but maybe a status write) and one indented `~` line per world event.
struct WorkloadSim {
    var workload: Workload
    var replicas: [String: ReplicaSnapshot] = [:]
    var now = Fixtures.t0
    var suffixes = NameSuffixes(seed: 42)
    var options = WorkloadReconciler.Options()
    var trace: [String] = []
    var events: [(reason: String, message: String)] = []
    /// Short names for the trace: revision hashes → `v1`, `v2`…; replica names → `<rev>#<n>`.
    var revisionAlias: [String: String] = [:]
    var replicaAlias: [String: String] = [:]

    init(_ workload: Workload) {
        self.workload = workload
    }

    var hash: String { TemplateHash.of(workload.spec.template) }

    mutating func alias(revision: String) -> String {
        if let a = revisionAlias[revision] { return a }
        let a = "v\(revisionAlias.count + 1)"
        revisionAlias[revision] = a
        return a
    }

    mutating func alias(replica name: String) -> String {
        if let a = replicaAlias[name] { return a }
        let rev = alias(revision: replicas[name]?.templateHash ?? "?")
        let n = replicaAlias.values.filter { $0.hasPrefix(rev + "#") }.count + 1
        let a = "\(rev)#\(n)"
        replicaAlias[name] = a
        return a
    }

    /// One reconcile, its actions applied. Returns the actions.
    @discardableResult
    mutating func reconcile() -> [WorkloadAction] {
        let reconciler = WorkloadReconciler(
            workload: workload, replicas: Array(replicas.values), now: now, options: options)
        let actions = reconciler.reconcile(suffixes: &suffixes)
        var line: [String] = []
        for action in actions {
            switch action {
            case .create(let name, let template, let hash):
                replicas[name] = ReplicaSnapshot(
                    name: name, project: workload.metadata.project, workload: workload.metadata.name,
                    templateHash: hash, phase: .pending, ready: false, createdAt: now)
                #expect(template == workload.spec.template)
                line.append("+\(alias(replica: name))")
            case .delete(let name, let reason):
                replicas[name]?.phase = .terminating
                replicas[name]?.ready = false
                line.append("-\(alias(replica: name))(\(reason.rawValue))")
            case .updateStatus(let status):
                workload.status = status
            case .event(let reason, let message, _):
                events.append((reason, message))
                line.append("!\(reason)")
            case .revert(let hash):
                let template = WorkloadRollout.template(forHash: hash, in: workload)
                #expect(template != nil)
                if let template { workload.spec.template = template }
                line.append("revert→\(alias(revision: hash))")
            }
        }
        trace.append(line.isEmpty ? "·" : line.joined(separator: " "))
        return actions
    }

    // MARK: The world

    /// Replicas that are neither terminating nor finished.
    var alive: [ReplicaSnapshot] { replicas.values.filter(\.isAlive) }
    var readyCount: Int { replicas.values.count(where: \.isReady) }

    /// Pending (or Starting) replicas of `revision` (any when nil), oldest name first.
    func starting(_ revision: String? = nil) -> [String] {
        replicas.values.filter {
            ($0.phase == .pending || $0.phase == .starting) && (revision == nil || $0.templateHash == revision)
        }.map(\.name).sorted()
    }

    var terminating: [String] { replicas.values.filter(\.isTerminating).map(\.name).sorted() }

    /// The agent started it and its probe passes.
    mutating func becomeReady(_ name: String) {
        trace.append("  ~\(alias(replica: name)) ready")
        replicas[name]?.phase = .running
        replicas[name]?.ready = true
        replicas[name]?.nodeName = "n1"
    }

    /// Scheduled and running, but its readiness probe fails (a broken image).
    mutating func runUnready(_ name: String) {
        trace.append("  ~\(alias(replica: name)) running, not ready")
        replicas[name]?.phase = .running
        replicas[name]?.ready = false
        replicas[name]?.nodeName = "n1"
    }

    /// The agent finished stopping it; the store deletes it.
    mutating func finishTerminating(_ name: String) {
        trace.append("  ~\(alias(replica: name)) gone")
        replicas[name] = nil
    }

    mutating func advance(_ d: Duration) {
        now = now + d
        trace.append("  ~\(d.components.seconds)s later")
    }

    /// Reconcile and make everything ready until nothing changes (a steady workload).
    mutating func settle(maxSteps: Int = 50) {
        for _ in 0..<maxSteps {
            let actions = reconcile()
            let (up, down) = (starting(), terminating)
            for n in up { becomeReady(n) }
            for n in down { finishTerminating(n) }
            if actions.isEmpty && up.isEmpty && down.isEmpty { return }
        }
        Issue.record("did not settle in \(maxSteps) steps")
    }
}
