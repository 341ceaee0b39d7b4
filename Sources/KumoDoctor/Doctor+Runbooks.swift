extension Doctor {
    /// `docs/runbooks.md`: every code's runbook, by area (a test keeps the file equal to this).
    public static func runbooksMarkdown() -> String {
        var s = "# Runbooks of `kumo doctor`'s health checks\n\n"
        s += "Generated from `Sources/KumoDoctor/Checks/*.swift` (`KUMO_UPDATE_RUNBOOKS=1` rewrites this file; a test keeps it equal). "
        s += "`kumo doctor explain CODE` prints one. A finding's `component` is the part whose state must change to fix it; "
        s += "a *symptom* shows where a problem is seen, and the doctor ranks the causes upstream of it (`kumo explain`).\n\n"
        for area in areas {
            s += "## \(area.name)\n\n"
            for d in area.definitions {
                s += "### \(d.code)\n\n"
                s += "`\(d.severity.rawValue)`, component `\(d.component.rawValue)`\(d.symptom ? ", a symptom" : ""): \(d.title).\n\n"
                s += d.runbook.meaning + "\n\n"
                if !d.runbook.lookAlikes.isEmpty {
                    s += "Look-alikes:\n\n" + d.runbook.lookAlikes.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
                }
                s += "What to do:\n\n" + d.runbook.actions.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
            }
        }
        return s
    }
}
