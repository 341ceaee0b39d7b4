import KumoModel

/// Each node's HAProxy: does it answer, did its last reload fail, does another program hold one of its ports,
/// and restarts the agent made in the last hour.
public enum HAProxyChecks: HealthArea {
    public static let name = "haproxy"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "HAPROXY_DOWN", .error, .haproxy, title: "a node's HAProxy does not answer",
            runbook: Runbook(
                meaning: "HAProxy's runtime socket gave no answer to `show info`: service VIPs and external ports on that node do not answer. A dead HAProxy is restarted by the agent within about a second; a stopped or hung one is not noticed by its pid.",
                lookAlikes: [
                    "LB_PORT_HELD: HAProxy runs but cannot bind a port another program holds.",
                    "HAPROXY_RELOAD_FAILED: HAProxy answers with an old configuration.",
                ],
                actions: ["`kumo state lb/NODE`; on the node, check the haproxy process and kill a stopped one: the agent starts it again."])),
        CheckDefinition(
            "LB_PORT_HELD", .error, .host, title: "another program holds a port the node's HAProxy needs",
            runbook: Runbook(
                meaning: "A service's external port (or a VIP port) is bound by a process Kumo does not run, so HAProxy's reload fails or the port is withheld (event ExternalPortBusy). The service is not reachable on that node's port.",
                lookAlikes: ["HAPROXY_RELOAD_FAILED: the reload fails for another reason (the message says which)."],
                actions: ["On the node: `ss -ltnp 'sport = :PORT'` names the holder; stop it or give the service another external port."])),
        CheckDefinition(
            "HAPROXY_RELOAD_FAILED", .error, .haproxy, title: "a node's HAProxy rejected its last configuration",
            runbook: Runbook(
                meaning: "The agent's last reload of HAProxy failed: the node serves an older set of endpoints.",
                lookAlikes: ["LB_PORT_HELD: the usual reason, told apart by the held port."],
                actions: ["`kumo state lb/NODE` → lastError has HAProxy's own message."])),
        CheckDefinition(
            "HAPROXY_RESTARTED", .warn, .haproxy, title: "a node's HAProxy died and was restarted in the last hour",
            runbook: Runbook(
                meaning: "The agent found HAProxy dead and started it again (event HAProxyRestarted). Connections through that node's VIPs failed for about a second. It stays a warning for an hour.",
                lookAlikes: ["HAPROXY_DOWN: not restarted (yet)."],
                actions: ["The host's journal (OOM killer, a kill by a person or a script) tells why it died."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        for (node, _) in s.reports.sorted(by: { $0.key < $1.key }) {
            guard let h = s.freshReport(node)?.haproxy else { continue }
            let held = (h.portsHeld ?? [:]).sorted { $0.key < $1.key }
            if !held.isEmpty {
                out.append(
                    finding(
                        "LB_PORT_HELD", node: node, object: .node(node),
                        summary: "on \(node) another program holds port(s) " + held.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
                            + " that HAProxy needs",
                        count: held.count, evidence: held.map { Evidence("\(node) bind probe of port \($0.key)", "held by \($0.value)") }
                            + (h.lastReloadError.map { [Evidence("\(node) HAProxy reload", $0)] } ?? [])))
            } else if !h.answering {
                var f = finding(
                    "HAPROXY_DOWN", node: node, object: .node(node),
                    summary: "HAProxy on \(node) does not answer" + (h.running ? " (process \(h.pid.map(String.init) ?? "?") exists: stopped or hung)" : " (no process)"),
                    evidence: [Evidence("\(node) HAProxy runtime API show info", h.error ?? "no answer")])
                f.affects = Set(s.services.map(\.reference))
                out.append(f)
            } else if let e = h.lastReloadError {
                out.append(
                    finding(
                        "HAPROXY_RELOAD_FAILED", node: node, object: .node(node), summary: "HAProxy on \(node) rejected its last configuration: \(e)",
                        evidence: [Evidence("\(node) HAProxy reload", e)]))
            }
        }
        for node in s.nodes.sorted(by: { $0.metadata.name < $1.metadata.name }) {
            guard let e = s.events(about: node.reference, reason: "HAProxyRestarted").last,
                s.within(s.options.repairedMemorySeconds, e.lastTimestamp)
            else { continue }
            out.append(
                finding(
                    "HAPROXY_RESTARTED", node: node.metadata.name, object: node.reference,
                    summary: "HAProxy on \(node.metadata.name) died and was restarted \(e.spec.count ?? 1) time(s), last at \(e.spec.lastTime ?? "?")",
                    count: e.spec.count ?? 1, evidence: [Evidence("event HAProxyRestarted", e.line)], since: e.lastTimestamp))
        }
        return out
    }
}
