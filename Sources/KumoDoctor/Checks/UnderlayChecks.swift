import KumoModel

/// The network between nodes, from the agents' probes of each other: pairs that cannot talk, and paths that
/// carry small packets but not full-size overlay frames (an MTU mismatch).
public enum UnderlayChecks: HealthArea {
    public static let name = "underlay"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "PEER_UNREACHABLE", .error, .underlay, title: "nodes that heartbeat cannot reach each other",
            runbook: Runbook(
                meaning: "A node's probe of a peer's underlay address gets no answer while both nodes heartbeat to the server: the path between them is broken (a firewall, a route, a VLAN). Overlay traffic between their replicas is lost.",
                lookAlikes: ["NODE_UNREACHABLE: the peer does not heartbeat either.", "UNDERLAY_MTU_MISMATCH: small probes pass."],
                actions: ["`ping` between the two underlay addresses from the nodes; check firewalls for UDP 4789 too."])),
        CheckDefinition(
            "UNDERLAY_MTU_MISMATCH", .error, .underlay, title: "full-size overlay frames do not cross between nodes",
            runbook: Runbook(
                meaning: "A small probe is answered but a don't-fragment probe of the overlay's full frame size is not: some link on the path has a smaller MTU. Small requests work; large responses hang.",
                lookAlikes: ["PEER_UNREACHABLE: nothing crosses at all."],
                actions: ["Raise the MTU of the underlay path, or lower the overlay's MTU (the bridge and VXLAN device) by the difference."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        let silent = s.nodesWithoutHeartbeat
        var unreachable: [String: [(String, PeerProbe)]] = [:]  // target → reporters
        var mtu: [String: [(String, PeerProbe)]] = [:]
        for (node, _) in s.reports.sorted(by: { $0.key < $1.key }) where !silent.contains(node) {
            for p in s.freshReport(node)?.peers ?? [] where !silent.contains(p.node) && s.node(p.node) != nil {
                if !p.reachable {
                    unreachable[p.node, default: []].append((node, p))
                } else if p.fullSizeReachable == false {
                    mtu[p.node, default: []].append((node, p))
                }
            }
        }
        var out: [Finding] = []
        for target in unreachable.keys.sorted() {
            let from = unreachable[target]!
            let many = from.count > 1
            var f = finding(
                "PEER_UNREACHABLE", node: many ? target : nil,
                summary: many
                    ? "\(from.count) nodes cannot reach \(target) on the underlay (\(from[0].1.address)) although it heartbeats"
                    : "\(from[0].0) cannot reach \(target) on the underlay (\(from[0].1.address)); both heartbeat",
                count: from.count,
                evidence: from.map { Evidence("\($0.0) probe of \(target) (\($0.1.address))", $0.1.error ?? "no answer") })
            if !many { f.nodes = [from[0].0, target] }
            f.affects = Set(s.replicas(on: target).map(\.reference))
            out.append(f)
        }
        for target in mtu.keys.sorted() {
            let from = mtu[target]!
            var f = finding(
                "UNDERLAY_MTU_MISMATCH", node: from.count > 1 ? target : nil,
                summary: "full-size (\(from[0].1.probeBytes.map(String.init) ?? "?") byte, don't-fragment) probes from \(from.map(\.0).joined(separator: ", ")) to \(target) get no answer; small ones do",
                count: from.count,
                evidence: from.map { Evidence("\($0.0) DF probe of \(target) (\($0.1.address))", $0.1.error ?? "no answer at \($0.1.probeBytes ?? 0) bytes") })
            if from.count == 1 { f.nodes = [from[0].0, target] }
            out.append(f)
        }
        return out
    }
}
