import KumoModel

/// The checks, their codes and the evaluation: `Doctor.evaluate(snapshot)` runs every area, and
/// `Doctor.report(…)` ranks causes and scopes the answer to a target or a project.
public enum Doctor {
    /// One area per file under `Checks/`.
    public static let areas: [any HealthArea.Type] = [
        NodeChecks.self, SchedulingChecks.self, ReplicaChecks.self, ServiceChecks.self, ImageChecks.self,
        OverlayChecks.self, DnsmasqChecks.self, HAProxyChecks.self, UnderlayChecks.self, ControlPlaneChecks.self,
        PKIChecks.self, HostChecks.self,
    ]

    /// Every code, in area order.
    public static let definitions: [CheckDefinition] = areas.flatMap { $0.definitions }

    public static let definitionsByCode: [String: CheckDefinition] = {
        var out: [String: CheckDefinition] = [:]
        for d in definitions { out[d.code] = d }
        return out
    }()

    public static let symptomCodes: Set<String> = Set(definitions.filter(\.symptom).map(\.code))

    /// Every check over one snapshot, in a stable order.
    public static func evaluate(_ snapshot: HealthSnapshot) -> [Finding] {
        var s = snapshot
        s.buildIndex()
        return areas.flatMap { $0.evaluate(s) }
    }

    /// The answer to `kumo doctor`: every finding (or those about `target`), ranked causes, the status. With
    /// `project`, only the findings that concern that project; `summarize` (a project token's view) also hides the
    /// evidence and detail of findings not about the project's own objects. An admin's `-p` filters, and sees all.
    public static func report(
        _ findings: [Finding], target: ObjectReference? = nil, project: String? = nil, summarize: Bool = true,
        evaluatedAt: Timestamp, graph: ComponentGraph = .kumo
    ) -> DoctorReport {
        let ranking = CauseRanking(findings, graph: graph)
        var selected: [Int]
        var causes: [Int]
        if let target {
            let about = findings.indices.filter { concerns(findings[$0], target) }
            var ranked: [Int] = []
            var seen: Set<Int> = []
            // the causes of each finding about the target, the target's most severe finding first
            for j in about.sorted(by: { findings[$0].severity > findings[$1].severity }) {
                for c in ranking.causes(of: j) where seen.insert(c).inserted { ranked.append(c) }
            }
            causes = ranked
            selected = Array(Set(about + ranked)).sorted()
        } else {
            causes = ranking.rankedRoots()
            selected = Array(findings.indices)
        }
        if let project {
            let visible = Set(findings.indices.filter { i in
                findings[i].project == project || findings[i].affects.contains { $0.project == project }
                    || ranking.descendants(of: i).contains { findings[$0].project == project }
            })
            selected = selected.filter(visible.contains)
            causes = causes.filter(visible.contains)
        }
        let unmuted = { (i: Int) in findings[i].muted != true }
        let worstSelected = selected.filter(unmuted).map { findings[$0].severity }.max() ?? .info
        // a cause explains something, or is an error on its own; and a warn status always names its warnings
        causes = causes.filter { i in
            guard unmuted(i), findings[i].severity != .info else { return false }
            return findings[i].severity == .error || findings[i].severity >= worstSelected
                || ranking.descendants(of: i).contains(where: unmuted)
        }
        var causeFindings: [Finding] = causes.map { i in
            var f = findings[i]
            f.explains = ranking.descendants(of: i).map { findings[$0].label }
            return f
        }
        var checks = selected.map { findings[$0] }
        if let project, summarize {
            checks = checks.map { summarizeForProject($0, project) }
            causeFindings = causeFindings.map { summarizeForProject($0, project) }
        }
        checks.sort { a, b in a.severity != b.severity ? a.severity > b.severity : a.key < b.key }
        let worst = checks.filter { $0.muted != true }.map(\.severity).max()
        let status: DoctorReport.Status = worst == .error ? .error : worst == .warn ? .warn : .ok
        return DoctorReport(status: status, evaluatedAt: evaluatedAt.rfc3339, checks: checks, causes: causeFindings)
    }

    /// Whether a finding is about `target`: its object, what it breaks, or (for a node) its node.
    static func concerns(_ f: Finding, _ target: ObjectReference) -> Bool {
        if let o = f.object, o.kind == target.kind, o.name == target.name, target.project == nil || o.project == target.project { return true }
        if f.affects.contains(where: { $0.kind == target.kind && $0.name == target.name && (target.project == nil || $0.project == target.project) }) { return true }
        if target.kind == "Node" { return f.node == target.name || f.nodes.contains(target.name) }
        return false
    }

    /// What a project token sees of a finding that is not about its project: the code, component and summary;
    /// node-level evidence is summarized, not shown.
    static func summarizeForProject(_ f: Finding, _ project: String) -> Finding {
        guard f.project != project else { return f }
        var g = f
        g.detail = []
        g.evidence = f.evidence.isEmpty ? [] : [Evidence("summarized", "\(f.evidence.count) node-level observation(s); an admin token sees them")]
        g.explains = f.explains.map { _ in ["findings in project \(project)"] }
        return g
    }

    /// Parses `KIND/NAME` (`service/web`, `node/node-2`) into a target, or says which kinds exist.
    public static func target(_ text: String, project: String?) throws(KumoError) -> ObjectReference {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw KumoError(.invalid, "target \"\(text)\" must be KIND/NAME, e.g. service/web or node/node-2", field: "target")
        }
        let kinds: [String: Kind] = [
            "node": .node, "nodes": .node, "replica": .replica, "replicas": .replica, "instance": .instance,
            "instances": .instance, "service": .service, "services": .service, "workload": .workload,
            "workloads": .workload, "image": .image, "images": .image, "secret": .secret, "secrets": .secret,
        ]
        guard let kind = kinds[parts[0].lowercased()] else {
            throw KumoError(
                .invalid, "unknown kind \"\(parts[0])\" in target \"\(text)\"; valid kinds: node, replica, instance, service, workload, image, secret",
                field: "target")
        }
        return ObjectReference(kind: kind.rawValue, name: parts[1], project: kind.scope == .cluster ? nil : project)
    }

    /// The runbook of a code, or an error naming the valid codes.
    public static func definition(_ code: String) throws(KumoError) -> CheckDefinition {
        guard let d = definitionsByCode[code.uppercased()] else {
            throw KumoError(
                .notFound, "unknown health check code \"\(code)\"; valid codes: \(definitions.map(\.code).joined(separator: ", "))",
                field: "code")
        }
        return d
    }
}

/// `GET /api/v1/doctor`: `{"status", "evaluatedAt", "checks": […], "causes": [… each with "explains"]}`.
public struct DoctorReport: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, warn, error }
    public var status: Status
    public var evaluatedAt: String
    public var checks: [Finding]
    public var causes: [Finding]

    public init(status: Status, evaluatedAt: String, checks: [Finding], causes: [Finding]) {
        self.status = status
        self.evaluatedAt = evaluatedAt
        self.checks = checks
        self.causes = causes
    }
}
