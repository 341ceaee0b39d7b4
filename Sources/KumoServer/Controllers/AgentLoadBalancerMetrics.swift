import AsyncHTTPClient
import Foundation
import KumoControllers
import KumoModel
import NIOCore

/// The autoscaler's view of service load: every Ready node's agent is asked for its HAProxy figures
/// (`/debug/lb`, over the proxy's TLS client — the agent verifies its cluster-CA client certificate — with the
/// server's agent credential), concurrently and with a short timeout; a node that does not answer is left out (and
/// counted out in `ServiceLoad.nodes`).
struct AgentLoadBalancerMetrics: LoadBalancerMetrics {
    let core: ServerCore

    func serviceLoads() async -> [String: ServiceLoad] {
        guard let nodes = try? await core.resources.list(.node, project: nil).items else { return [:] }
        let urls = nodes.compactMap { n -> String? in
            let ready = n["status"]?["conditions"]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } ?? false
            guard ready, let base = n["status"]?["agentURL"]?.stringValue, !base.isEmpty else { return nil }
            return base + "/debug/lb"
        }
        let credential = core.tokens.agentCredential
        let dumps = await withTaskGroup(of: JSONValue?.self) { group in
            for url in urls {
                group.addTask {
                    var request = HTTPClientRequest(url: url)
                    request.headers.add(name: "Authorization", value: "Bearer \(credential)")
                    guard let response = try? await core.agentHTTP.execute(request, timeout: .seconds(2)), response.status.code == 200,
                        let body = try? await response.body.collect(upTo: 16 << 20)
                    else { return nil }
                    return try? JSONValue(parsing: Array(buffer: body))
                }
            }
            var out: [JSONValue] = []
            for await d in group { if let d { out.append(d) } }
            return out
        }
        return Self.aggregate(dumps)
    }

    /// Sums the per-node dumps by service: requests/s and queue add up, response time is the slowest node's.
    static func aggregate(_ dumps: [JSONValue]) -> [String: ServiceLoad] {
        var out: [String: ServiceLoad] = [:]
        for dump in dumps {
            for s in dump["services"]?.arrayValue ?? [] {
                guard let key = s["service"]?.stringValue else { continue }
                var load = out[key] ?? ServiceLoad(requestsPerSecond: 0, queue: 0, avgResponseMs: 0, nodes: 0)
                load.nodes += 1
                // an agent's figures are read defensively: a negative, huge or fractional number is clamped,
                // never converted with a trapping Int(Double)
                func figure(_ v: JSONValue?) -> Double {
                    guard let n = v?.numberValue, n.isFinite, n > 0 else { return 0 }
                    return min(n, 1e9)
                }
                for p in s["ports"]?.arrayValue ?? [] {
                    load.requestsPerSecond += figure(p["requestsPerSecond"])
                    load.queue += Int(figure(p["queue"]))
                    load.avgResponseMs = max(load.avgResponseMs, figure(p["avgResponseMs"]))
                }
                out[key] = load
            }
        }
        return out
    }
}
