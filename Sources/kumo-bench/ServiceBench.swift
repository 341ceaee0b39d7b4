import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed

/// `rollout`, `lb` and `endpoints`: services on real `kumo server` + `kumo agent` processes in network-namespace
/// hosts, each node running HAProxy; load from `kumo-bench load` started inside a host's namespace.
enum ServiceBench {
    static func workload(replicas: Int, image: String = "busybox:latest", cpu: String = "100m") -> String {
        """
        apiVersion: kumo/v1
        kind: Workload
        metadata: {name: web, project: bench}
        spec:
          replicas: \(replicas)
          strategy: {maxSurge: 1, maxUnavailable: 0}
          template:
            labels: {app: web}
            spec:
              image: \(image)
              command: ["sh", "-c", "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
              resources: {cpu: \(cpu), memory: 32Mi}
              terminationGracePeriodSeconds: 2
              readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        """
    }

    static let service = """
        apiVersion: kumo/v1
        kind: Service
        metadata: {name: web, project: bench}
        spec:
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080, protocol: HTTP}]
          healthCheck: {intervalSeconds: 1}
        """

    static func serving(_ c: LocalCloud) async throws -> [JSONValue] {
        try await c.admin.send(.GET, "/api/v1/projects/bench/replicas").json()["items"]?.arrayValue?.filter {
            $0["status"]?["phase"] == "Running" && $0["status"]?["ready"] == true && $0["metadata"]?["deletionTimestamp"] == nil
        } ?? []
    }

    /// The service's VIP once `count` endpoints are served by every node.
    static func converged(_ c: LocalCloud, count: Int) async throws -> String {
        var vip = ""
        try await eventually("\(count) endpoints applied everywhere", timeout: .seconds(120)) {
            let s = try await c.admin.get(.service, "web", project: "bench")
            vip = s["spec"]?["clusterIP"]?.stringValue ?? ""
            guard s["status"]?["endpoints"]?.arrayValue?.count == count else { return false }
            return try await servedEverywhere(c)
        }
        return vip
    }

    /// Every live node's load balancer serves the service `bench/web` as it is now (the nodes' acknowledgements).
    static func servedEverywhere(_ c: LocalCloud) async throws -> Bool {
        let acks = try await c.admin.send(.GET, "/api/v1/projects/bench/services/web/loadbalancers").json()
        return (acks["liveNodes"]?.intValue ?? 0) > 0 && acks["laggingCount"]?.intValue == 0
    }

    static func setUp(_ c: LocalCloud, replicas: Int, cpu: String = "100m") async throws -> String {
        try await c.start()
        try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
        try c.kumo(["image", "push", "busybox:v2", "--from-busybox", "--env", "VERSION=2"])
        try c.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: bench}\n")
        try c.apply(workload(replicas: replicas, cpu: cpu))
        try c.apply(service)
        return try await converged(c, count: replicas)
    }

    /// `kumo-bench load` in host `i`'s namespace, in the background; `wait()` returns its JSON result.
    final class LoadProcess: @unchecked Sendable {
        let process = Process()
        let pipe = Pipe()

        init(_ c: LocalCloud, host i: Int, url: String, seconds: Double, connections: Int) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            process.arguments = [
                "--net=/run/netns/\(c.host(i))", CommandLine.arguments[0], "load", "--url", url, "--seconds", String(seconds),
                "--concurrency", String(connections), "--json",
            ]
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Ends the load early (SIGINT: the loader stops and still prints its result).
        func stop() { if process.isRunning { kill(process.processIdentifier, SIGINT) } }

        func wait() async throws -> JSONValue {
            let data = await withCheckedContinuation { cont in
                DispatchQueue.global().async { [self] in
                    let d = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    cont.resume(returning: d)
                }
            }
            let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            return try JSONValue(parsing: Array(last.utf8))
        }
    }

    /// Requests sent and failed while a 3-replica workload rolls out a new image (drain → wait → stop; new
    /// replicas get traffic only when Ready), repeated until at least `minimum` requests were sent.
    static func rollout(minimum: Int, connections: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "rollout")
        let c = LocalCloud(agents: 3)
        return try await tearingDown(c) {
            let vip = try await setUp(c, replicas: 3)
            let load = try LoadProcess(c, host: 1, url: "http://\(vip)/", seconds: 600, connections: connections)
            var rollouts = 0
            let started = ContinuousClock.now
            var image = "busybox:latest"
            // roll back and forth until the load process has sent enough (checked from its own count on exit)
            while rollouts < 2 || ContinuousClock.now - started < .seconds(Double(minimum) / 400) {
                image = image == "busybox:latest" ? "busybox:v2" : "busybox:latest"
                try c.apply(workload(replicas: 3, image: image))
                try await eventually("rolled out to \(image)", timeout: .seconds(120)) {
                    let s = try await serving(c)
                    let all = try await c.admin.send(.GET, "/api/v1/projects/bench/replicas").json()["items"]?.arrayValue ?? []
                    return s.count == 3 && all.count == 3 && s.allSatisfy { $0["spec"]?["image"]?.stringValue == image }
                }
                _ = try await converged(c, count: 3)
                rollouts += 1
                if ContinuousClock.now - started > .seconds(500) { break }
            }
            load.stop()
            let r = try await load.wait()
            let sent = (r["completed_requests"]?.numberValue ?? 0) + (r["failed_requests"]?.numberValue ?? 0)
            result.add("rollouts", Double(rollouts))
            result.add("sent_requests", sent)
            result.add("failed_requests", r["failed_requests"]?.numberValue ?? -1)
            result.add("resent_on_closed_keepalive", r["resent_requests"]?.numberValue ?? 0)
            result.add("p99_ms", r["p99_ms"]?.numberValue ?? 0)
            result.target("failed_requests", 0, higherIsBetter: false)
            result.target("sent_requests", Double(minimum), higherIsBetter: true)
            result.notes.append("3 replicas on 3 nodes, maxSurge 1 / maxUnavailable 0, rolled between two images; \(connections) keep-alive connections to the VIP from host 1")
            result.notes.append("a request fails when it gets no complete 2xx response; a request on a keep-alive connection HAProxy closed while idle (reload soft-stop) is re-sent, as HTTP clients do (counted apart)")
            if let errors = r["errors"]?.stringValue, !errors.isEmpty { result.notes.append("errors: \(errors)") }
            return result
        }
    }

    /// Requests/s and latency through the node's HAProxy (VIP) against straight to the same single replica, same
    /// client: what the load balancer adds.
    static func lb(seconds: Double, connections: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "lb")
        let c = LocalCloud(agents: 3)
        return try await tearingDown(c) {
            let vip = try await setUp(c, replicas: 1, cpu: "1")
            let all = try await serving(c)
            let replica = all[0]
            let direct = replica["spec"]?["network"]?["ip"]?.stringValue ?? ""
            let remote = replica["spec"]?["nodeName"]?.stringValue != c.nodeName(1)
            let d = try await LoadProcess(c, host: 1, url: "http://\(direct):8080/", seconds: seconds, connections: connections).wait()
            let v = try await LoadProcess(c, host: 1, url: "http://\(vip)/", seconds: seconds, connections: connections).wait()
            let dRate = d["requests_per_s"]?.numberValue ?? 0
            let vRate = v["requests_per_s"]?.numberValue ?? 0
            result.add("direct_requests_per_s", dRate)
            result.add("vip_requests_per_s", vRate)
            result.add("vip_to_direct_ratio", dRate > 0 ? (vRate / dRate * 1000).rounded() / 1000 : 0)
            result.add("direct_p50_ms", d["p50_ms"]?.numberValue ?? 0)
            result.add("vip_p50_ms", v["p50_ms"]?.numberValue ?? 0)
            result.add("added_p50_ms", ((v["p50_ms"]?.numberValue ?? 0) - (d["p50_ms"]?.numberValue ?? 0)))
            result.add("direct_p99_ms", d["p99_ms"]?.numberValue ?? 0)
            result.add("vip_p99_ms", v["p99_ms"]?.numberValue ?? 0)
            result.add("failed_requests", (d["failed_requests"]?.numberValue ?? 0) + (v["failed_requests"]?.numberValue ?? 0))
            result.target("failed_requests", 0, higherIsBetter: false)
            result.notes.append("client in host 1's namespace, \(connections) connections, \(Int(seconds)) s each, against one replica (cpu 1, busybox httpd: a new process and connection per request) on \(remote ? "another node (over the VXLAN overlay)" : "host 1"); direct = its IP:8080; VIP = host 1's HAProxy (client keep-alive, a new server connection per request)")
            result.notes.append("2-core machine: client, HAProxy, the replica and the agents share it, so the ratio is what matters")
            return result
        }
    }

    /// Replica Ready (its agent's ready status committed) → every node's HAProxy serving it (its applied generation
    /// includes the replica), one scale-up at a time.
    static func endpoints(rounds: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "endpoints")
        let c = LocalCloud(agents: 3)
        return try await tearingDown(c) {
            _ = try await setUp(c, replicas: 1)
            var samples = Samples()
            var firstNode = Samples()
            var applied: [Timestamp] = []
            var previous = try await c.admin.get(.service, "web", project: "bench")["status"]?["endpoints"]?.arrayValue?
                .compactMap { $0["replica"]?.stringValue } ?? []
            for i in 0..<rounds {
                let count = i % 2 == 0 ? 2 : 1
                try c.kumo(["scale", "workload/web", "-p", "bench", "--replicas", String(count)])
                if count == 1 {
                    _ = try await converged(c, count: 1)
                    let svc = try await c.admin.get(.service, "web", project: "bench")
                    previous = (svc["status"]?["endpoints"]?.arrayValue ?? []).compactMap { $0["replica"]?.stringValue }
                    continue
                }
                // the new replica: wait until every node serves a generation that includes it, then take the times
                // from the records: its agent's ready status (replica history, server clock) → each node's
                // acknowledgement (`loadBalancer.appliedAt` of its lease, server clock)
                var name = ""
                try await eventually("new replica served everywhere", timeout: .seconds(60)) {
                    let svc = try await c.admin.get(.service, "web", project: "bench")
                    let eps = svc["status"]?["endpoints"]?.arrayValue ?? []
                    guard eps.count == 2, try await servedEverywhere(c) else { return false }
                    let known = Set(previous)
                    name = eps.compactMap { $0["replica"]?.stringValue }.first { !known.contains($0) } ?? ""
                    let nodes = try await c.admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue ?? []
                    applied = []
                    for n in nodes.compactMap({ $0["metadata"]?["name"]?.stringValue }) {
                        let lease = try await c.admin.send(.GET, "/api/v1/nodes/\(n)/lease").json()
                        if let at = lease["loadBalancer"]?["appliedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) { applied.append(at) }
                    }
                    return !name.isEmpty
                }
                let history = try await c.admin.send(.GET, "/api/v1/projects/bench/replicas/\(name)/history").decode(HistoryList.self)
                let ready = history.items.first { h in
                    h.manager.hasPrefix("node/") && h.patch.contains {
                        ($0.path == "/status/ready" && $0.value == .bool(true)) || ($0.path == "/status" && $0.value?["ready"] == .bool(true))
                    }
                }.flatMap { Timestamp(rfc3339: $0.time) }
                if let ready, let last = applied.max(), let first = applied.min() {
                    samples.add(Double(last.millisecondsSinceEpoch - ready.millisecondsSinceEpoch))
                    firstNode.add(Double(first.millisecondsSinceEpoch - ready.millisecondsSinceEpoch))
                }
            }
            result.add("samples", Double(samples.values.count))
            result.add("p50_ms", samples.percentile(50))
            result.add("p99_ms", samples.percentile(99))
            result.add("first_node_p50_ms", firstNode.percentile(50))
            result.target("p99_ms", 1000, higherIsBetter: false)
            result.notes.append("from the commit of the replica's ready status (its history) until the last of 3 nodes loaded a config with it (status.loadBalancer.appliedAt); first_node: the first of them")
            result.notes.append("path: agent ready status → endpoints controller (watch) → service status generation+1 → each agent's service watch → render, haproxy -c, hitless reload → node status write")
            return result
        }
    }
}
