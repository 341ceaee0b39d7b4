import KumoModel

/// Services that answer 503 or route badly, each reason told apart: a selector that matches nothing, replicas that
/// are not ready, a health check that fails everywhere or on one node.
public enum ServiceChecks: HealthArea {
    public static let name = "services"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "SERVICE_SELECTOR_MATCHES_NOTHING", .error, .spec, title: "a service's selector matches no replica",
            runbook: Runbook(
                meaning: "No replica in the service's project carries every label of its selector: the service has no endpoints and its VIP answers 503.",
                lookAlikes: [
                    "SERVICE_NO_ENDPOINTS: replicas match but none is Ready.",
                    "SERVICE_HEALTH_CHECK_FAILING: replicas are Ready but HAProxy's check fails.",
                ],
                actions: ["Compare `kumo get service/NAME -o yaml` selector with the workload's template labels (the detail lists near matches)."])),
        CheckDefinition(
            "SERVICE_NO_ENDPOINTS", .error, .haproxy, symptom: true, title: "a service has no ready endpoint: its VIP answers 503",
            runbook: Runbook(
                meaning: "Replicas match the selector but none is Running and Ready, so every node's HAProxy answers 503 on the VIP. A symptom: the replicas' own findings say why.",
                lookAlikes: [
                    "SERVICE_SELECTOR_MATCHES_NOTHING: nothing matches at all.",
                    "CRASH_LOOP, REPLICA_NOT_READY, REPLICAS_PENDING: the usual causes.",
                ],
                actions: ["Follow the cause ranked first; `kumo describe service/NAME` lists the replicas it selects."])),
        CheckDefinition(
            "SERVICE_HEALTH_CHECK_FAILING", .error, .spec, title: "HAProxy's health check fails on every endpoint",
            runbook: Runbook(
                meaning: "The service has Ready endpoints, but on every reporting node HAProxy marks all its servers down: its `healthCheck` (path or port) does not match what the replicas serve. The VIP answers 503.",
                lookAlikes: [
                    "SERVICE_BACKENDS_DOWN_ON_NODE: only one node's HAProxy sees them down: that node's network, not the check.",
                    "REPLICA_NOT_READY: the replicas' own readiness probe fails.",
                ],
                actions: ["`kumo state lb/NODE` shows check_status per server (L7STS: wrong status code, L4CON: nothing listens); fix `spec.healthCheck`."])),
        CheckDefinition(
            "SERVICE_BACKENDS_DOWN_ON_NODE", .error, .haproxy, symptom: true, title: "one node's HAProxy cannot reach a service's endpoints",
            runbook: Runbook(
                meaning: "On this node HAProxy marks every server of the service down while other nodes reach them: traffic from this node to the replicas is lost (its overlay, its routes).",
                lookAlikes: ["SERVICE_HEALTH_CHECK_FAILING: every node sees them down.", "OVERLAY_ENTRIES_MISSING on the node: the likely cause."],
                actions: ["`kumo state agent/NODE --network` compares expected and programmed overlay entries."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        // each service's backend on each reporting node, read once
        var backends: [String: [(String, BackendHealth)]] = [:]
        for (node, report) in s.reports.sorted(by: { $0.key < $1.key }) where s.freshReport(node) != nil {
            for b in report.loadBalancer ?? [] where b.serversTotal > 0 { backends[b.service, default: []].append((node, b)) }
        }
        for svc in s.services.sorted(by: { $0.metadata.name < $1.metadata.name }) where svc.metadata.deletionTimestamp == nil {
            guard !svc.spec.selector.isEmpty, (s.age(svc.createdTime) ?? 0) > 15 else { continue }
            let project = svc.metadata.project ?? ""
            let selected = s.replicas(selectedBy: svc.spec.selector, project: project).filter { $0.metadata.deletionTimestamp == nil }
            let selector = svc.spec.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            if selected.isEmpty {
                out.append(selectorMatchesNothing(svc, selector, s.replicas(withAnyKeyOf: svc.spec.selector, project: project, limit: 20), s))
                continue
            }
            let eps = svc.status?.endpoints ?? []
            if eps.isEmpty {
                var f = finding(
                    "SERVICE_NO_ENDPOINTS", object: svc.reference,
                    summary: "service \(svc.metadata.name) has no ready endpoint: \(selected.count) replica(s) match \(selector), none is Ready; the VIP answers 503",
                    count: selected.count,
                    detail: selected.prefix(10).map {
                        "replica \($0.metadata.name) on \($0.spec.nodeName ?? "no node"): \($0.status?.phase?.rawValue ?? "Pending"), ready \($0.status?.ready ?? false)"
                    },
                    evidence: svc.status?.message.map { [Evidence("Service/\(svc.metadata.name) status.message", $0)] } ?? [],
                    since: selected.compactMap(\.createdTime).min())
                f.suspects = Set(selected.map(\.reference) + selected.compactMap(SchedulingChecks.workloadRef))
                f.nodes = Set(selected.compactMap(\.spec.nodeName))
                out.append(f)
                continue
            }
            out += healthChecks(svc, backends["\(project)/\(svc.metadata.name)"] ?? [], s)
        }
        return out
    }

    static func selectorMatchesNothing(_ svc: Service, _ selector: String, _ replicas: [Replica], _ s: HealthSnapshot) -> Finding {
        // near matches: replicas that carry the selector's keys with other values, or most of its labels
        var near: [String] = []
        for r in replicas {
            let labels = r.metadata.labels ?? [:]
            let matching = svc.spec.selector.filter { labels[$0.key] == $0.value }.count
            if matching > 0 || svc.spec.selector.keys.contains(where: { labels[$0] != nil }) {
                near.append(
                    "replica \(r.metadata.name) has "
                        + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
            }
        }
        let change = s.lastChange(of: svc.reference, touching: "/spec/selector")
        var f = finding(
            "SERVICE_SELECTOR_MATCHES_NOTHING", object: svc.reference,
            summary: "service \(svc.metadata.name)'s selector \(selector) matches no replica in project \(svc.metadata.project ?? ""): the VIP answers 503",
            detail: Array(Set(near).sorted().prefix(5)),
            evidence: change.map { [Evidence("history Service/\(svc.metadata.name)", $0.line)] } ?? [],
            since: change?.timestamp ?? svc.createdTime)
        f.recentChange = change?.line
        f.affects = [svc.reference]
        return f
    }

    /// Backends down in HAProxy on every reporting node (the check), or on one node only (that node's path).
    static func healthChecks(_ svc: Service, _ backends: [(String, BackendHealth)], _ s: HealthSnapshot) -> [Finding] {
        let key = "\(svc.metadata.project ?? "")/\(svc.metadata.name)"
        var down: [(String, BackendHealth)] = []
        var up = 0
        for (node, b) in backends {
            if b.serversUp == 0 { down.append((node, b)) } else { up += 1 }
        }
        guard !down.isEmpty else { return [] }
        let evidence = down.prefix(5).map { Evidence("\($0.0) HAProxy backend \(key)", "\($0.1.serversUp)/\($0.1.serversTotal) up, check \($0.1.checkStatus ?? "?")") }
        if up == 0, down.count >= 2 || s.reports.count == 1 {
            var f = finding(
                "SERVICE_HEALTH_CHECK_FAILING", object: svc.reference,
                summary: "service \(svc.metadata.name): HAProxy's health check fails on every endpoint on all \(down.count) node(s) (\(down[0].1.checkStatus ?? "no status")); the VIP answers 503",
                count: down.count,
                detail: ["health check: " + (svc.spec.healthCheck.map { "path \($0.path ?? "(tcp)"), interval \($0.intervalSeconds ?? 2) s" } ?? "default (TCP connect)")],
                evidence: Array(evidence))
            f.affects = [svc.reference]
            return [f]
        }
        return down.map { node, b in
            var f = finding(
                "SERVICE_BACKENDS_DOWN_ON_NODE", node: node, object: svc.reference,
                summary: "service \(svc.metadata.name): HAProxy on \(node) marks all \(b.serversTotal) server(s) down while \(up) other node(s) reach them",
                evidence: [Evidence("\(node) HAProxy backend \(key)", "\(b.serversUp)/\(b.serversTotal) up, check \(b.checkStatus ?? "?")")])
            f.suspects = [.node(node)]
            return f
        }
    }
}
