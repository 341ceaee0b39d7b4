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
