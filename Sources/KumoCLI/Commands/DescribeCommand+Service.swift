import Foundation
import KumoAPI
import KumoModel

extension DescribeCommand {
    /// `kumo describe service/x`: what every node's HAProxy does with it — the revision it serves, per backend
    /// server state, current/peak sessions, queue, requests per minute, average queue/connect/response times,
    /// errors, the last reload and its duration — and what that means (findings). Needs the admin token (agent
    /// state); otherwise the section is left out.
    static func loadBalancerSection(_ api: KumoClient, project: String, name: String, service: JSONValue) async -> String {
        let key = "\(project)/\(name)"
        guard let nodes = try? await api.send(.GET, APIPaths.collection(.node, project: nil)).json()["items"]?.arrayValue else {
            return ""
        }
        // the nodes' acknowledgements, as the server holds them (what a draining replica waits for)
        let acks = try? await api.send(.GET, APIPaths.object(.service, project: project, name: name) + "/loadbalancers").json()
        let revision = acks?["revision"]?.intValue ?? 0
        let behind = Set((acks?["lagging"]?.arrayValue ?? []).compactMap { $0["node"]?.stringValue })
        var out = "Load balancers (every node's HAProxy; service revision \(revision)"
        if let acks {
            out += ": \(acks["serving"]?.intValue ?? 0) of \(acks["liveNodes"]?.intValue ?? 0) live nodes serve it"
        }
        out += "):\n"
        var findings: [String] = []
        var t = Table(headers: [
            "  NODE", "BACKEND", "SERVER", "STATUS", "CUR/PEAK SESS", "QUEUE", "REQ/MIN", "AVG Q/CONN/RESP MS", "ERRORS",
        ])
        var reloads: [String] = []
        var any = false
        for n in nodes.sorted(by: { ($0["metadata"]?["name"]?.stringValue ?? "") < ($1["metadata"]?["name"]?.stringValue ?? "") }) {
            guard let node = n["metadata"]?["name"]?.stringValue else { continue }
            guard let state = try? await api.send(.GET, "/api/v1/nodes/\(APIPaths.encode(node))/state").json(),
                let lb = state["loadBalancer"]
            else {
                t.rows.append(["  " + node, "-", "-", "agent unreachable", "", "", "", "", ""])
                continue
            }
            any = true
            let h = lb["haproxy"]
            let reload = h?["lastReload"]
            let applied = lb["acknowledgedRevision"]?.intValue
            reloads.append(
                "  \(node): HAProxy \(h?["state"]?.stringValue ?? "?"), serves revision \(applied.map(String.init) ?? "none")"
                    + (behind.contains(node) ? " (behind)" : "")
                    + ", last reload \(reload?["at"]?.stringValue ?? "never") in \(reload?["durationMs"]?.numberValue.map { "\($0) ms" } ?? "-")"
                    + ", \(Int(h?["reloads"]?.numberValue ?? 0)) reloads, \(Int(h?["restarts"]?.numberValue ?? 0)) restarts")
            guard let svc = lb["services"]?.arrayValue?.first(where: { $0["service"]?.stringValue == key }) else { continue }
            findings += (svc["findings"]?.arrayValue ?? []).compactMap { $0.stringValue.map { "\(node): \($0)" } }
            for port in svc["ports"]?.arrayValue ?? [] {
                func row(_ server: String, _ v: JSONValue) -> [String] {
                    func i(_ k: String) -> String { String(Int(v[k]?.numberValue ?? 0)) }
                    return [
                        "  " + node, port["backend"]?.stringValue ?? "", server, v["status"]?.stringValue ?? "",
                        "\(i("currentSessions"))/\(i("peakSessions"))", i("queue"), i("requestsPerMinute"),
                        "\(i("avgQueueMs"))/\(i("avgConnectMs"))/\(i("avgResponseMs"))", i("errors"),
                    ]
                }
                t.rows.append(row("(backend)", port))
                for s in port["servers"]?.arrayValue ?? [] { t.rows.append(row(s["name"]?.stringValue ?? "", s)) }
            }
        }
        guard any else { return "" }
        out += reloads.joined(separator: "\n") + "\n" + t.render() + "\n"
        out += "Findings:" + (findings.isEmpty ? "     none (no queue, no saturation, every server up)\n" : "\n" + findings.map { "  " + $0 }.joined(separator: "\n") + "\n")
        return out
    }
}
