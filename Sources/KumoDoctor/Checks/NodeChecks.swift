import KumoModel

/// Heartbeats, agent reports, cordons, node subnets: whether each node's agent is alive and the node usable.
public enum NodeChecks: HealthArea {
    public static let name = "nodes"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "AGENT_DOWN", .error, .agent, title: "a node's agent stopped heartbeating, but the node answers on the underlay",
            runbook: Runbook(
                meaning: "The node's lease was not renewed for longer than the grace period, while peers still reach the node's underlay address (or no peer could probe it). The agent process is dead or stuck; its containers, HAProxy and dnsmasq may still run and serve unsupervised. After the grace period the node lifecycle controller marks it NotReady and replaces its replicas elsewhere.",
                lookAlikes: [
                    "NODE_UNREACHABLE: the same missing heartbeats, but every peer's probe of the node fails: the network, not the agent.",
                    "AGENT_REPORTS_MISSING: heartbeats arrive but health reports do not: the agent lives, its reporter or the server's endpoint fails.",
                ],
                actions: [
                    "On the node: `systemctl status kumo-agent` (or the testbed's agent.log); restart the agent. It re-adopts what runs.",
                    "If it crashes at start, its log names the stage (join, registration, listen).",
                ])),
        CheckDefinition(
            "NODE_UNREACHABLE", .error, .underlay, title: "a node stopped heartbeating and no peer reaches it",
            runbook: Runbook(
                meaning: "The node's lease expired and every peer that probed the node's underlay address got no answer: its link, its switch port or the node itself is down.",
                lookAlikes: [
                    "AGENT_DOWN: peers still reach the node; only the agent is gone.",
                    "PEER_UNREACHABLE: one pair of nodes cannot talk while both heartbeat.",
                ],
                actions: [
                    "Check the node's power and link; `ping` its underlay address from a peer.",
                    "Its replicas are replaced elsewhere after the grace period; instances are not moved.",
                ])),
        CheckDefinition(
            "AGENT_REPORTS_MISSING", .warn, .agent, title: "a node heartbeats but sends no health reports",
            runbook: Runbook(
                meaning: "The agent renews its lease but the server has no recent health report from it, so the node-local checks (dnsmasq, HAProxy, peer probes, DHCP) cannot judge that node.",
                lookAlikes: ["AGENT_DOWN: no heartbeats either."],
                actions: ["Look for 'health report' in the agent's log; an agent older than the server may not send reports — upgrade it."])),
        CheckDefinition(
            "NODES_CORDONED", .warn, .operator, title: "nodes are cordoned",
            runbook: Runbook(
                meaning: "`spec.unschedulable` is set (kumo cordon or drain): the scheduler places nothing new there. An error when no schedulable node is left; a warning when replicas wait because of it; info otherwise.",
                lookAlikes: [
                    "INSUFFICIENT_CAPACITY: nodes are schedulable but full.",
                    "NODE_NO_SUBNET: the scheduler also skips a node without a pod subnet (counted as cordoned in its message).",
                ],
                actions: ["`kumo history node/NAME` shows who cordoned it and when; `kumo cordon NAME --undo` when the maintenance is over."])),
        CheckDefinition(
            "NODE_NO_SUBNET", .error, .ipam, title: "a node has no pod subnet",
            runbook: Runbook(
                meaning: "The node registered but got no pod subnet: the cluster CIDR is used up. Nothing can be placed on it.",
                lookAlikes: ["NODES_CORDONED: a cordoned node is skipped the same way, by an operator's choice."],
                actions: ["Delete a node that is gone for good (its subnet is handed to the waiting node), or run the server with a larger --cluster-cidr or a smaller --node-subnet-size."])),
        CheckDefinition(
            "EVICTIONS_HELD", .error, .nodeLifecycle, title: "evictions are held: too many nodes are not Ready",
            runbook: Runbook(
                meaning: "More than 55 % of nodes stopped heartbeating at once. The node lifecycle controller does not evict their replicas: a partition of the server is likelier than that many dead nodes.",
                lookAlikes: ["AGENT_DOWN / NODE_UNREACHABLE on many nodes: the causes; this finding is their consequence."],
                actions: ["Fix the nodes or the network between them and the server; evictions resume by themselves."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        let silent = s.nodesWithoutHeartbeat
        for node in s.nodes.sorted(by: { $0.metadata.name < $1.metadata.name }) {
            let name = node.metadata.name
            if silent.contains(name) {
                out.append(heartbeatLost(name, s))
            } else if s.freshReport(name) == nil, (s.age(node.createdTime) ?? 0) > s.options.reportStaleSeconds {
                let last = s.reports[name]
                out.append(
                    finding(
                        "AGENT_REPORTS_MISSING", node: name, object: node.reference,
                        summary: "node \(name) heartbeats but its agent sent no health report "
                            + (last.map { "since \($0.receivedAt ?? $0.time)" } ?? "ever"),
                        evidence: [Evidence("lease /leases/nodes/\(name)", "renewed \(s.leases[name]?.rfc3339 ?? "?")")],
                        since: last.flatMap { ($0.receivedAt ?? $0.time).isEmpty ? nil : Timestamp(rfc3339: $0.receivedAt ?? $0.time) }))
            }
            if node.spec.podCIDR == nil, (s.age(node.createdTime) ?? 0) > 10 {
                let event = s.events(about: node.reference, reason: "SubnetExhausted").last
                out.append(
                    finding(
                        "NODE_NO_SUBNET", node: name, object: node.reference,
                        summary: "node \(name) has no pod subnet: nothing can be placed on it",
                        evidence: event.map { [Evidence("event SubnetExhausted", $0.spec.message ?? "")] } ?? [],
                        since: node.createdTime))
            }
        }
        if let cordon = cordoned(s) { out.append(cordon) }
        if let held = s.events.filter({ $0.spec.reason == "EvictionsHeld" || $0.spec.reason == "EvictionsResumed" })
            .max(by: { ($0.lastTimestamp ?? s.now) < ($1.lastTimestamp ?? s.now) }), held.spec.reason == "EvictionsHeld",
            !silent.isEmpty
        {
            var f = finding(
                "EVICTIONS_HELD", summary: "evictions held: \(silent.count)/\(s.nodes.count) nodes without heartbeat",
                count: silent.count, detail: silent.sorted().map { "node \($0) not heartbeating" },
                evidence: [Evidence("event EvictionsHeld", held.spec.message ?? "")], since: held.lastTimestamp)
            f.suspects = Set(silent.map(ObjectReference.node))
            out.append(f)
        }
        return out
    }

    /// AGENT_DOWN or NODE_UNREACHABLE, told apart by the peers' underlay probes of the node.
    static func heartbeatLost(_ name: String, _ s: HealthSnapshot) -> Finding {
        let renewed = s.leases[name]
        var evidence = [
            Evidence(
                "lease /leases/nodes/\(name)",
                renewed.map { "last renewed \($0.rfc3339), \(whole(s.age($0) ?? 0)) s ago (grace \(whole(s.server.nodeGraceSeconds)) s)" }
                    ?? "never renewed")
        ]
        var answered = 0
        var failed = 0
        for (peer, report) in s.reports.sorted(by: { $0.key < $1.key }) where peer != name && s.freshReport(peer) != nil {
            guard let probe = report.peers?.first(where: { $0.node == name }) else { continue }
            if probe.reachable {
                answered += 1
            } else {
                failed += 1
            }
            evidence.append(
                Evidence(
                    "\(peer) underlay probe of \(name) (\(probe.address))",
                    probe.reachable ? "answered" + (probe.rttMs.map { " in \(fmt($0)) ms" } ?? "") : "no answer" + (probe.error.map { ": \($0)" } ?? "")))
        }
        let affected = s.replicas(on: name).map(\.reference) + s.instances.filter { $0.spec.nodeName == name }.map(\.reference)
        var f: Finding
        if failed > 0 && answered == 0 {
            f = finding(
                "NODE_UNREACHABLE", node: name, object: .node(name),
                summary: "node \(name) is unreachable: no heartbeat and \(failed) peer(s) get no answer on the underlay",
                count: affected.count, detail: ["\(affected.count) replica(s) and instance(s) bound to it"], evidence: evidence, since: renewed)
        } else {
            f = finding(
                "AGENT_DOWN", node: name, object: .node(name),
                summary: answered > 0
                    ? "agent on \(name) is down: no heartbeat, but \(answered) peer(s) still reach the node"
                    : "agent on \(name) is down or the node is unreachable: no heartbeat, and no peer probe to tell which",
                count: affected.count, detail: ["\(affected.count) replica(s) and instance(s) bound to it"], evidence: evidence, since: renewed)
        }
        f.affects = Set(affected)
        return f
    }

    static func cordoned(_ s: HealthSnapshot) -> Finding? {
        let cordoned = s.nodes.filter { $0.spec.unschedulable == true }.map(\.metadata.name).sorted()
        guard !cordoned.isEmpty else { return nil }
        let usable = s.nodes.filter { $0.spec.unschedulable != true && $0.spec.podCIDR != nil }
        let waiting = s.activeReplicas.filter {
            $0.spec.nodeName == nil && ($0.status?.message ?? "").contains("cordoned")
        }
        let severity: Severity = usable.isEmpty ? .error : waiting.isEmpty ? .info : .warn
        // every node cordoned is a cluster-wide cause: no node
        let one = cordoned.count == 1 && !usable.isEmpty
        var evidence: [Evidence] = []
        for name in cordoned.prefix(5) {
            if let c = s.lastChange(of: .node(name), touching: "/spec/unschedulable") {
                evidence.append(Evidence("history Node/\(name)", c.line))
            }
        }
        let since = cordoned.compactMap { s.lastChange(of: .node($0), touching: "/spec/unschedulable")?.timestamp }.min()
        var f = finding(
            "NODES_CORDONED", severity: severity, node: one ? cordoned[0] : nil, object: one ? .node(cordoned[0]) : nil,
            summary: usable.isEmpty
                ? "every node is cordoned (\(cordoned.count)): nothing new can be placed"
                : "\(cordoned.count) node(s) cordoned" + (waiting.isEmpty ? "" : "; \(waiting.count) replica(s) wait partly because of it"),
            count: cordoned.count, detail: cordoned.map { "node \($0) cordoned" }, evidence: evidence, since: since)
        f.affects = Set(waiting.map(\.reference) + waiting.compactMap(SchedulingChecks.workloadRef))
        if !one && !usable.isEmpty { f.nodes = Set(cordoned) }
        if let c = evidence.first { f.recentChange = c.observed }
        return f
    }
}

/// Short decimal for figures in summaries.
func fmt(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    guard r.isFinite else { return String(r) }
    return r == r.rounded() ? String(whole(r)) : String(r)
}

/// A figure as a whole number for summaries and counts: truncated, clamped to `Int`'s range, 0 when
/// NaN. (`Int(x)` traps on NaN and out-of-range values; a figure must never crash the doctor.)
func whole(_ v: Double) -> Int {
    guard !v.isNaN else { return 0 }
    if v >= 9.2e18 { return Int.max }
    if v <= -9.2e18 { return Int.min }
    return Int(v)
}
