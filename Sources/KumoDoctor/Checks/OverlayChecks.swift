import KumoModel

/// The overlay: each node's published VXLAN data (who removed or replaced it, from history), incidents the
/// agents repaired in the last hour, and kernel entries a node is missing.
public enum OverlayChecks: HealthArea {
    public static let name = "overlay"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "OVERLAY_DATA_MISSING", .error, .agent, title: "a node's overlay data is missing or wrong in the API",
            runbook: Runbook(
                meaning: "The node's `status.overlay` (underlay address and VTEP MAC) is absent or differs from what its agent measures. Peers program routes, neighbours and FDB entries from it: without it, replicas on other nodes cannot reach this node's replicas (cross-node DNS and service traffic time out). The component is whoever last wrote the field other than the node's own agent, from history.",
                lookAlikes: [
                    "OVERLAY_DATA_REPAIRED: the same incident, already repaired by the node's agent.",
                    "OVERLAY_ENTRIES_MISSING: the API is right but a node's kernel tables are not.",
                    "DNSMASQ_DOWN: DNS fails only on one node, and pings by IP still work.",
                ],
                actions: ["`kumo history node/NAME` names the writer; stop it (a script, a tool with an old copy of the node). The agent republishes its data within a sync period."])),
        CheckDefinition(
            "OVERLAY_DATA_REPAIRED", .warn, .operator, title: "a node's overlay data was removed or replaced, and restored by its agent",
            runbook: Runbook(
                meaning: "In the last hour another writer removed or replaced `status.overlay` of a node and the node's agent published it again (event OverlayDataRestored). Traffic to that node's replicas failed in between. It stays a warning for an hour so the writer is found: the component is that writer's (operator for a human or script token).",
                lookAlikes: ["OVERLAY_DATA_MISSING: not repaired (yet)."],
                actions: ["`kumo history node/NAME` and `kumo audit` show the writer; make it stop writing node status."])),
        CheckDefinition(
            "OVERLAY_DRIFT_REPAIRED", .warn, .host, title: "a node's kernel overlay entries were changed behind the agent's back",
            runbook: Runbook(
                meaning: "In the last hour the agent found routes, neighbours or FDB entries of the VXLAN device that differed from what it programmed, and repaired them (event OverlayDriftRepaired): another program on the host (or a person with `ip`) changed them.",
                lookAlikes: ["OVERLAY_ENTRIES_MISSING: entries missing now, not repaired."],
                actions: ["Find what touches the `kumo-vx*` device on the node (network managers, scripts)."])),
        CheckDefinition(
            "OVERLAY_ENTRIES_MISSING", .error, .overlay, title: "a node's kernel lacks overlay entries for its peers",
            runbook: Runbook(
                meaning: "The node's agent reports fewer programmed peers (routes, neighbours, FDB entries) than nodes with overlay data: traffic from this node to those peers' replicas is lost.",
                lookAlikes: ["OVERLAY_DATA_MISSING: the peer's data is missing in the API, so nothing can be programmed."],
                actions: ["`kumo state agent/NODE --network` lists the missing entries and the last apply error."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        let silent = s.nodesWithoutHeartbeat
        for node in s.nodes.sorted(by: { $0.metadata.name < $1.metadata.name }) where !silent.contains(node.metadata.name) {
            let name = node.metadata.name
            let ref = node.reference
            if node.status?.overlay == nil, (s.age(node.createdTime) ?? 0) > 20 {
                let writer = s.lastChange(of: ref, touching: "/status/overlay", except: "node/\(name)")
                var f = finding(
                    "OVERLAY_DATA_MISSING", component: writer.map { Component.ofManager($0.manager) ?? .operator } ?? .agent,
                    node: name, object: ref,
                    summary: writer.map { "status.overlay of node \(name) was removed by \($0.manager) at \($0.time): peers cannot reach its replicas" }
                        ?? "node \(name) never published status.overlay: peers cannot reach its replicas",
                    evidence: writer.map { [Evidence("history Node/\(name)", $0.line)] } ?? [],
                    since: writer?.timestamp ?? node.createdTime)
                f.recentChange = writer?.line
                f.affects = Set(s.replicas(on: name).map(\.reference))
                out.append(f)
            }
            // repaired in the last hour: name the writer the agent undid
            if let restored = s.events(about: ref, reason: "OverlayDataRestored").last,
                s.within(s.options.repairedMemorySeconds, restored.lastTimestamp)
            {
                let writer = s.lastChange(of: ref, touching: "/status/overlay", before: restored.lastTimestamp, except: "node/\(name)")
                var f = finding(
                    "OVERLAY_DATA_REPAIRED",
                    component: writer.map { Component.ofManager($0.manager) ?? .operator } ?? .operator,
                    node: name, object: ref,
                    summary: "status.overlay of node \(name) was "
                        + (writer.map { "changed by \($0.manager) at \($0.time)" } ?? "changed by a writer no longer in history")
                        + "; its agent restored it at \(restored.spec.lastTime ?? "?")",
                    count: restored.spec.count ?? 1,
                    evidence: [Evidence("event OverlayDataRestored", restored.line)] + (writer.map { [Evidence("history Node/\(name)", $0.line)] } ?? []),
                    since: writer?.timestamp ?? restored.lastTimestamp)
                f.recentChange = writer?.line
                out.append(f)
            }
            if let drift = s.events(about: ref, reason: "OverlayDriftRepaired").last,
                s.within(s.options.repairedMemorySeconds, drift.lastTimestamp)
            {
                out.append(
                    finding(
                        "OVERLAY_DRIFT_REPAIRED", node: name, object: ref,
                        summary: "overlay entries on \(name) were changed outside Kumo and repaired: \(drift.spec.message ?? "")",
                        count: drift.spec.count ?? 1, evidence: [Evidence("event OverlayDriftRepaired", drift.line)],
                        since: drift.lastTimestamp))
            }
            if let o = s.freshReport(name)?.overlay, o.peersProgrammed < o.peersExpected - o.peersDataMissing.count || !o.missingEntries.isEmpty {
                var f = finding(
                    "OVERLAY_ENTRIES_MISSING", node: name, object: ref,
                    summary: "node \(name) has \(o.peersProgrammed) of \(o.peersExpected) overlay peers programmed",
                    count: max(o.missingEntries.count, o.peersExpected - o.peersProgrammed),
                    detail: Array(o.missingEntries.prefix(10)),
                    evidence: [Evidence("\(name) overlay state", "expected \(o.peersExpected), programmed \(o.peersProgrammed)")])
                f.affects = Set(s.replicas(on: name).map(\.reference))
                out.append(f)
            }
        }
        return out
    }
}
