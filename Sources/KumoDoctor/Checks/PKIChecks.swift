import KumoModel

/// Certificates close to expiry: the cluster CA, the serving certificate, each agent's.
public enum PKIChecks: HealthArea {
    public static let name = "pki"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "CERTIFICATE_EXPIRING", .warn, .pki, title: "a certificate is close to expiry",
            runbook: Runbook(
                meaning: "A certificate expires within the warning window (an error within a tenth of it, or when expired). When the serving certificate expires, clients refuse the API; when an agent's does, the server's proxy refuses that node.",
                lookAlikes: ["A TLS error with a valid certificate: a client pinned to another cluster's CA (`kumo login` again)."],
                actions: ["The serving certificate renews itself when it is the server's own; an agent's renews when the agent re-joins (`kumo agent reset` and join). A provided certificate (--tls-cert) must be replaced by its owner."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var certs = s.server.certificates
        for (node, r) in s.reports.sorted(by: { $0.key < $1.key }) {
            if let na = r.certificateNotAfter { certs.append(CertificateFact(name: "agent \(node)", node: node, notAfter: na)) }
        }
        var out: [Finding] = []
        for c in certs {
            guard let end = Timestamp(rfc3339: c.notAfter) else { continue }
            var warn = s.options.certificateWarnDays * 86400
            if let start = c.notBefore.flatMap({ Timestamp(rfc3339: $0) }) {
                warn = min(warn, Double(end.millisecondsSinceEpoch - start.millisecondsSinceEpoch) / 4000)
            }
            let left = Double(end.millisecondsSinceEpoch - s.now.millisecondsSinceEpoch) / 1000
            guard left < warn else { continue }
            let days = left / 86400
            out.append(
                finding(
                    "CERTIFICATE_EXPIRING", severity: left < warn / 10 ? .error : .warn, node: c.node,
                    object: c.node.map(ObjectReference.node),
                    summary: left <= 0 ? "the \(c.name) certificate expired at \(c.notAfter)" : "the \(c.name) certificate expires in \(fmt(days)) days (\(c.notAfter))",
                    count: max(0, whole(days)),
                    evidence: [Evidence("\(c.name) certificate", "notAfter \(c.notAfter)" + (c.subject.map { ", subject \($0)" } ?? ""))]))
        }
        return out
    }
}
