import KumoAPI
import KumoDoctor

/// `kumo doctor`'s table: the status, root causes first (each with what it explains and its evidence), then the
/// other findings.
enum DoctorTable {
    static func render(_ r: DoctorReport, target: String?) -> String {
        var out = "STATUS \(r.status.rawValue.uppercased())" + (target.map { " for \($0)" } ?? "") + "  (evaluated \(r.evaluatedAt))\n"
        if r.checks.isEmpty {
            return out + (target == nil ? "no findings: every check passes\n" : "no findings about \(target!)\n")
        }
        let causeKeys = Set(r.causes.map(\.key))
        if !r.causes.isEmpty {
            out += "\nROOT CAUSES (most likely first)\n"
            for (i, c) in r.causes.enumerated() {
                out += "\(i + 1). [\(c.severity.rawValue.uppercased())] \(c.code)  component \(c.component.rawValue)"
                    + (c.node.map { "  node \($0)" } ?? "") + (c.object.map { "  \($0.display)" } ?? "") + "\n"
                out += "   \(c.summary)\n"
                if let since = c.since { out += "   since \(since)\n" }
                for d in c.detail.prefix(5) { out += "   - \(d)\n" }
                for e in c.evidence.prefix(4) { out += "   evidence (\(e.source)): \(e.observed)\n" }
                if let ex = c.explains, !ex.isEmpty {
                    out += "   explains \(ex.count): " + ex.prefix(6).joined(separator: "; ") + (ex.count > 6 ? "; …" : "") + "\n"
                }
                out += "   runbook: kumo doctor explain \(c.code)\n"
            }
        }
        let rest = r.checks.filter { !causeKeys.contains($0.key) }
        if !rest.isEmpty {
            out += "\nOTHER FINDINGS\n"
            var t = Table(headers: ["SEVERITY", "CODE", "COMPONENT", "NODE", "OBJECT", "SUMMARY"])
            t.rows = rest.map {
                [
                    $0.severity.rawValue + ($0.muted == true ? " (muted)" : ""), $0.code, $0.component.rawValue, $0.node ?? "",
                    $0.object?.display ?? "", String($0.summary.prefix(100)),
                ]
            }
            out += t.render()
        }
        return out
    }
}

extension DoctorTable {
    /// Node → its findings' codes (`AGENT_DOWN,DNSMASQ_DOWN`), errors first, for `kumo get nodes`; nil when the
    /// doctor cannot be read (a project token, an older server): the column is left out then.
    static func nodeHealth(_ api: KumoClient) async -> [String: String]? {
        guard let report = try? await api.send(.GET, APIRoute.doctor.rawValue).decode(DoctorReport.self) else { return nil }
        var byNode: [String: [Finding]] = [:]
        for f in report.checks where f.muted != true {
            for n in f.scopeNodesOnWire { byNode[n, default: []].append(f) }
        }
        return byNode.mapValues { fs in
            fs.sorted { $0.severity > $1.severity }.map { $0.severity == .info ? $0.code.lowercased() : $0.code }.joined(separator: ",")
        }
    }

    /// The lines `kumo describe KIND/NAME` shows: findings about the object, and the first cause behind them.
    static func describeSection(_ api: KumoClient, kind: String, name: String, project: String?) async -> String {
        var query = [("target", "\(kind)/\(name)")]
        if let project { query.append(("project", project)) }
        guard let r = try? await api.send(.GET, APIRoute.doctor.rawValue, query: query).decode(DoctorReport.self) else { return "" }
        guard !r.checks.isEmpty else { return "Health:       ok (kumo doctor: no finding about it)\n" }
        var out = "Health (kumo doctor \(kind)/\(name)):\n"
        for f in r.checks.prefix(8) {
            out += "  [\(f.severity.rawValue)] \(f.code) (\(f.component.rawValue)\(f.node.map { ", " + $0 } ?? "")): \(f.summary)\n"
        }
        if let c = r.causes.first { out += "  root cause: \(c.code) (\(c.component.rawValue)) — kumo doctor explain \(c.code)\n" }
        return out
    }
}

/// The runbook of one code as text (`kumo doctor explain CODE`, `docs/runbooks.md`).
enum Runbooks {
    static func text(_ d: CheckDefinition) -> String {
        var s = "\(d.code) (\(d.severity.rawValue), component \(d.component.rawValue)\(d.symptom ? ", a symptom" : "")): \(d.title)\n\n"
        s += "What it means\n  \(d.runbook.meaning)\n\n"
        if !d.runbook.lookAlikes.isEmpty {
            s += "Look-alikes\n" + d.runbook.lookAlikes.map { "  - \($0)" }.joined(separator: "\n") + "\n\n"
        }
        s += "What to do\n" + d.runbook.actions.map { "  - \($0)" }.joined(separator: "\n") + "\n"
        return s
    }
}
