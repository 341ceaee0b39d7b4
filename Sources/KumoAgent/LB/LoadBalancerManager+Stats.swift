import Foundation
import KumoModel

/// The load balancer's internal state, for `kumo state lb/<node>`, `kumo describe service`, the autoscaler and
/// `/metrics`: per backend and server — state, current/peak sessions, queue, requests per minute, average
/// queue/connect/response times, errors — the last reload and its duration, and plain-language findings.
extension LoadBalancerManager {
    func sampleStats() async {
        guard case .running = await supervisor.state else { return }
        guard let csv = try? await supervisor.runtime().send("show stat") else { return }
        let stats = HAProxyStats.parse(csv)
        state.withLock {
            $0.stats = stats
            $0.samples.add(stats, at: ContinuousClock.now)
        }
    }

    /// One service's figures on this node (nil when this node does not serve it).
    func serviceState(_ lb: LBService, stats: HAProxyStats, samples: LBSamples) -> JSONValue {
        var ports: [JSONValue] = []
        var findings: [String] = []
        for port in lb.ports {
            let proxy = lb.proxyName(port)
            let backend = stats.backend(proxy)
            let servers = stats.servers(proxy)
            findings += LBFinding.findings(
                backend: proxy, servers: servers, row: backend, previousQueue: samples.previousQueue(proxy),
                previousResponseMs: samples.previousResponseMs(proxy))
            ports.append([
                "backend": .string(proxy), "mode": .string(port.protocol == .http ? "http" : "tcp"),
                "status": .string(backend?.string("status") ?? "unknown"),
                "currentSessions": .number(Double(backend?.int("scur") ?? 0)),
                "peakSessions": .number(Double(backend?.int("smax") ?? 0)),
                "queue": .number(Double(backend?.int("qcur") ?? 0)), "peakQueue": .number(Double(backend?.int("qmax") ?? 0)),
                "requestsPerMinute": .number(samples.perMinute("\(proxy)/BACKEND").rounded()),
                "requestsPerSecond": .number((samples.perSecond("\(proxy)/BACKEND", over: .seconds(10)) * 10).rounded() / 10),
                "avgQueueMs": .number(Double(backend?.int("qtime") ?? 0)),
                "avgConnectMs": .number(Double(backend?.int("ctime") ?? 0)),
                "avgResponseMs": .number(Double(backend?.int("rtime") ?? 0)),
                "avgTotalMs": .number(Double(backend?.int("ttime") ?? 0)),
                "errors": .number(Double(backend?.errors ?? 0)),
                "retries": .number(Double(backend?.int("wretr") ?? 0)),
                "redispatches": .number(Double(backend?.int("wredis") ?? 0)),
                "servers": .array(servers.map { s in
                    [
                        "name": .string(s.server), "status": .string(s.string("status")),
                        "check": .string(s.string("check_status")),
                        "currentSessions": .number(Double(s.int("scur"))), "peakSessions": .number(Double(s.int("smax"))),
                        "queue": .number(Double(s.int("qcur"))),
                        "requestsPerMinute": .number(samples.perMinute("\(proxy)/\(s.server)").rounded()),
                        "totalRequests": .number(Double(s.requestsTotal)),
                        "avgQueueMs": .number(Double(s.int("qtime"))), "avgConnectMs": .number(Double(s.int("ctime"))),
                        "avgResponseMs": .number(Double(s.int("rtime"))), "errors": .number(Double(s.errors)),
                    ]
                }),
            ])
        }
        return [
            "service": .string(lb.key), "vip": .string(lb.vip), "generation": .number(Double(lb.generation)),
            "endpoints": .number(Double(lb.endpoints.count)), "ports": .array(ports),
            "findings": .array(findings.map { .string($0) }),
        ]
    }

    func stateDump() async -> JSONValue {
        let s = state.withLock { $0 }
        let haproxy = await supervisor.snapshot()
        return [
            "node": .string(node), "haproxy": haproxy, "vips": .array(s.vips.sorted().map { .string($0) }),
            "servicesKnown": .number(Double(s.services.count)), "syncs": .number(Double(s.syncs)),
            "lastError": s.lastError.map { .string($0) } ?? .null,
            "withheldExternalPorts": .array(s.withheld.values.sorted { $0.port < $1.port }.map {
                ["port": .number(Double($0.port)), "service": .string($0.service), "listener": .string($0.listener.description),
                 "reason": .string($0.reason)]
            }),
            "appliedGenerations": .object(s.applied.mapValues { .number(Double($0.generation)) }),
            "servicesRevision": .number(Double(s.revision)),
            "acknowledgedRevision": s.published.map { .number(Double($0)) } ?? .null,
            "services": .array(s.applied.values.sorted { $0.key < $1.key }.map { serviceState($0, stats: s.stats, samples: s.samples) }),
            "recentDrains": .array(s.drains.map {
                ["replica": .string($0.replica), "at": .string($0.at.rfc3339), "waitedMs": .number(Double($0.waitedMs)), "outcome": .string($0.outcome)]
            }),
        ]
    }

    /// Prometheus text for the load balancer (appended to the agent's /metrics): series per backend and server
    /// as HAProxy reports them now, so removed servers leave no stale series behind.
    func metricsText() async -> String {
        let s = state.withLock { $0 }
        let haproxy = await supervisor.snapshot()
        var lines: [String] = []
        func family(_ name: String, _ help: String, _ type: String = "gauge") {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
        }
        func esc(_ v: String) -> String { v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        family("kumo_agent_lb_reloads_total", "HAProxy config loads since the agent started", "counter")
        lines.append("kumo_agent_lb_reloads_total \(Int(haproxy["reloads"]?.numberValue ?? 0))")
        family("kumo_agent_lb_restarts_total", "HAProxy restarts after it died", "counter")
        lines.append("kumo_agent_lb_restarts_total \(Int(haproxy["restarts"]?.numberValue ?? 0))")
        family("kumo_agent_lb_last_reload_seconds", "Duration of the last HAProxy start or reload")
        lines.append("kumo_agent_lb_last_reload_seconds \((haproxy["lastReload"]?["durationMs"]?.numberValue ?? 0) / 1000)")
        let gauges: [(String, String, String)] = [
            ("kumo_agent_lb_sessions", "scur", "Current sessions"), ("kumo_agent_lb_sessions_peak", "smax", "Peak sessions"),
            ("kumo_agent_lb_queue", "qcur", "Requests waiting in the queue"),
            ("kumo_agent_lb_avg_queue_ms", "qtime", "Average queue time (last 1024 requests)"),
            ("kumo_agent_lb_avg_connect_ms", "ctime", "Average connect time (last 1024 requests)"),
            ("kumo_agent_lb_avg_response_ms", "rtime", "Average response time (last 1024 requests)"),
        ]
        let rows = s.stats.rows.filter { !$0.isFrontend && $0.proxy != "kumo.alive" }
        for (name, field, help) in gauges {
            family(name, help)
            for r in rows { lines.append("\(name){backend=\"\(esc(r.proxy))\",server=\"\(esc(r.server))\"} \(r.int(field))") }
        }
        family("kumo_agent_lb_requests_total", "Requests (HTTP) or sessions (TCP) so far", "counter")
        for r in rows { lines.append("kumo_agent_lb_requests_total{backend=\"\(esc(r.proxy))\",server=\"\(esc(r.server))\"} \(r.requestsTotal)") }
        family("kumo_agent_lb_errors_total", "Connection and response errors plus 5xx answers", "counter")
        for r in rows { lines.append("kumo_agent_lb_errors_total{backend=\"\(esc(r.proxy))\",server=\"\(esc(r.server))\"} \(r.errors)") }
        family("kumo_agent_lb_requests_per_minute", "Requests per minute over the last minute")
        for r in rows {
            lines.append("kumo_agent_lb_requests_per_minute{backend=\"\(esc(r.proxy))\",server=\"\(esc(r.server))\"} \(Int(s.samples.perMinute("\(r.proxy)/\(r.server)")))")
        }
        family("kumo_agent_lb_server_up", "1 when HAProxy counts the server UP")
        for r in rows where !r.isBackend {
            lines.append("kumo_agent_lb_server_up{backend=\"\(esc(r.proxy))\",server=\"\(esc(r.server))\"} \(r.string("status").hasPrefix("UP") ? 1 : 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
