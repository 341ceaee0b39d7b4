import KumoModel

/// Each node's dnsmasq: does it answer, and who does it refuse (NAKs and "no address available" by MAC).
public enum DnsmasqChecks: HealthArea {
    public static let name = "dnsmasq"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "DNSMASQ_DOWN", .error, .dnsmasq, title: "a node's dnsmasq does not answer",
            runbook: Runbook(
                meaning: "The agent's DNS query to the node's dnsmasq got no answer (a dead, stopped or hung process: a stopped one keeps its pid and sockets). On that node only, names do not resolve and new VM leases fail. The agent restarts a dead dnsmasq with a back-off; a hung one stays until it is killed.",
                lookAlikes: [
                    "OVERLAY_DATA_MISSING / OVERLAY_ENTRIES_MISSING: DNS to another node's replicas times out, and pings by IP fail too.",
                    "AGENT_DOWN: nothing on the node is supervised or reported.",
                ],
                actions: ["`kumo state dhcp/NODE`; on the node, check the dnsmasq process (`cat /proc/PID/status` State: T is stopped) and kill it: the agent starts a new one."])),
        CheckDefinition(
            "DHCP_UNKNOWN_CLIENT", .warn, .host, title: "a DHCP client Kumo does not know keeps asking for an address",
            runbook: Runbook(
                meaning: "dnsmasq refuses a MAC that no instance owns — with DHCPNAK when it asks for an address it has, or 'no address available' when it asks for a new one (Kumo only hands out static leases). A VM not run by Kumo, a stale clone, or a misconfigured machine on the node's bridge.",
                lookAlikes: ["DHCP_NAKS: the refused MAC belongs to a Kumo instance: its lease record disagrees."],
                actions: ["Find the machine with that MAC on the node (`bridge fdb show`, `ip neigh`); stop it or remove its interface from the bridge."])),
        CheckDefinition(
            "DHCP_NAKS", .warn, .dnsmasq, title: "dnsmasq refuses a Kumo instance's DHCP requests",
            runbook: Runbook(
                meaning: "An instance's MAC gets DHCPNAK: it asks for an address dnsmasq's hosts file does not give it (an address changed, a lease file out of date).",
                lookAlikes: ["DHCP_UNKNOWN_CLIENT: the MAC is not an instance's."],
                actions: ["`kumo state dhcp/NODE` shows hosts and leases; the instance gets the right lease after a reboot (`kumo instance reboot`)."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        var known: [String: ObjectReference] = [:]
        for i in s.instances {
            for mac in [i.spec.network?.mac, i.status?.mac].compactMap({ $0 }) { known[mac.lowercased()] = i.reference }
        }
        for r in s.replicas { if let mac = r.spec.network?.mac { known[mac.lowercased()] = r.reference } }
        for (node, _) in s.reports.sorted(by: { $0.key < $1.key }) {
            guard let report = s.freshReport(node) else { continue }
            if let d = report.dnsmasq, !d.answering {
                var f = finding(
                    "DNSMASQ_DOWN", node: node, object: .node(node),
                    summary: "dnsmasq on \(node) does not answer" + (d.running ? " (process \(d.pid.map(String.init) ?? "?") exists: stopped or hung)" : " (no process)"),
                    evidence: [Evidence("\(node) DNS query to dnsmasq", d.error ?? "no answer")])
                f.affects = Set(s.replicas(on: node).map(\.reference) + s.instances.filter { $0.spec.nodeName == node }.map(\.reference))
                out.append(f)
            }
            guard let dhcp = report.dhcp else { continue }
            var unknown: [String: [DHCPRefusal]] = [:]
            var naks: [String: [DHCPRefusal]] = [:]
            for r in dhcp.refusals {
                if known[r.mac.lowercased()] != nil { naks[r.mac.lowercased(), default: []].append(r) } else { unknown[r.mac.lowercased(), default: []].append(r) }
            }
            for mac in unknown.keys.sorted() {
                let rs = unknown[mac]!
                let total = rs.reduce(0) { $0 + $1.count }
                guard total >= s.options.unknownClientMessages else { continue }
                out.append(
                    finding(
                        "DHCP_UNKNOWN_CLIENT", node: node,
                        summary: "unknown DHCP client \(mac) on \(node): \(total) refusal(s) in \(whole(dhcp.windowSeconds)) s ("
                            + rs.map { "\($0.count) \($0.kind)\($0.reason.map { " \($0)" } ?? "")" }.joined(separator: ", ") + ")",
                        count: total, detail: rs.map { "\($0.kind)\($0.reason.map { " (\($0))" } ?? ""): \($0.count)" },
                        evidence: rs.map { Evidence("\(node) dnsmasq log", $0.lastLine) }))
            }
            for mac in naks.keys.sorted() {
                let rs = naks[mac]!
                let total = rs.reduce(0) { $0 + $1.count }
                var f = finding(
                    "DHCP_NAKS", node: node, object: known[mac],
                    summary: "dnsmasq on \(node) refused \(known[mac].map { "\($0.kind.lowercased()) \($0.name)" } ?? mac) (\(mac)) \(total) time(s)",
                    count: total, evidence: rs.map { Evidence("\(node) dnsmasq log", $0.lastLine) })
                if let ref = known[mac] { f.affects = [ref] }
                out.append(f)
            }
        }
        return out
    }
}
