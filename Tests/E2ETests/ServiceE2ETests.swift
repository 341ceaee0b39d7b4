import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// Services for real: `kumo server` + 3 `kumo agent`s on network-namespace hosts, each running HAProxy for every
/// VIP, replicas in runc containers that answer with their own name.
@Suite("Services: HAProxy on every node, drain, rolling update", .serialized, .enabled(if: LocalCloud.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy"), "needs root, runc, busybox-static and haproxy"))
struct ServiceE2ETests {
    static let project = """
        apiVersion: kumo/v1
        kind: Project
        metadata: {name: demo}
        """

    /// Each replica serves its own name (the container's hostname) on 8080.
    static func workload(replicas: Int = 3, image: String = "busybox:latest", name: String = "web", app: String = "web") -> String {
        """
        apiVersion: kumo/v1
        kind: Workload
        metadata: {name: \(name), project: demo}
        spec:
          replicas: \(replicas)
          template:
            labels: {app: \(app)}
            spec:
              image: \(image)
              command: ["sh", "-c", "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
              resources: {cpu: 100m, memory: 32Mi}
              terminationGracePeriodSeconds: 2
              readinessProbe:
                httpGet: {path: /, port: 8080}
                periodSeconds: 1
        """
    }

    static func service(name: String = "web", app: String = "web", external: Int? = nil) -> String {
        """
        apiVersion: kumo/v1
        kind: Service
        metadata: {name: \(name), project: demo}
        spec:
          selector: {app: \(app)}
          ports: [{name: http, port: 80, targetPort: 8080, protocol: HTTP}]
          healthCheck: {intervalSeconds: 1, fall: 2, rise: 1}
        \(external.map { "  external: {port: \($0)}" } ?? "")
        """
    }

    func serving(_ c: LocalCloud) async throws -> [JSONValue] {
        let items = try await c.admin.send(.GET, "/api/v1/projects/demo/replicas").json()["items"]?.arrayValue ?? []
        return items.filter {
            $0["status"]?["phase"] == "Running" && $0["status"]?["ready"] == true && $0["metadata"]?["deletionTimestamp"] == nil
        }
    }

    /// Waits until the service lists `count` endpoints and every node's HAProxy serves that version of it (the nodes'
    /// acknowledgements, as the server holds them).
    func converged(_ c: LocalCloud, service: String = "web", endpoints count: Int) async throws -> JSONValue {
        var last = JSONValue.null
        try await eventually("service \(service) with \(count) endpoints applied on every node", timeout: .seconds(90)) {
            let s = try await c.admin.get(.service, service, project: "demo")
            last = s
            guard (s["status"]?["endpoints"]?.arrayValue?.count ?? -1) == count else { return false }
            let acks = try await c.admin.send(.GET, "/api/v1/projects/demo/services/\(service)/loadbalancers").json()
            return acks["liveNodes"]?.intValue == c.agentCount && acks["laggingCount"]?.intValue == 0
        }
        return last
    }

    @Test("a service over 3 replicas on 3 hosts: the VIP answers from every host and inside containers, spread over all replicas; external port; 503 without endpoints; conflicts and bad selectors refused")
    func vipFromEverywhere() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            try c.apply(Self.workload())
            try c.apply(Self.service(external: 30080))
            try await eventually("3 serving replicas on 3 nodes", timeout: .seconds(60)) {
                let s = try await serving(c)
                return s.count == 3 && Set(s.compactMap { $0["spec"]?["nodeName"]?.stringValue }).count == 3
            }
            let svc = try await converged(c, endpoints: 3)
            let vip = try #require(svc["spec"]?["clusterIP"]?.stringValue)
            #expect(vip.hasPrefix("10.96."), "VIP from the service CIDR: \(vip)")
            #expect(svc["status"]?["reason"] == "Ready")
            let names = Set(try await serving(c).compactMap { $0["metadata"]?["name"]?.stringValue })

            for i in 1...3 {
                // every request answers; within a few rounds (a host's HAProxy may still be running the first
                // health checks of servers it just added) the replies come from every replica
                var replies: Set<String> = []
                for _ in 0..<60 where replies != names {
                    let r = try c.inHost(i, ["curl", "-sf", "--max-time", "3", "http://\(vip)/"])
                    #expect(r.status == 0, "VIP from host \(i): \(r.err)")
                    replies.insert(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
                    if replies != names { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(replies == names, "host \(i): replies from every replica (round robin): \(replies)")
            }
            // inside a container (its network namespace, through its node's gateway)
            let state = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(c.nodeName(2))"]).utf8))
            let pid = try #require(state["replicas"]?["runners"]?.arrayValue?.compactMap { $0["pid"]?.numberValue }.first)
            var fromContainer: Set<String> = []
            for _ in 0..<60 where fromContainer != names {
                let r = try LocalCloud.sh(["nsenter", "--net=/proc/\(Int(pid))/ns/net", "curl", "-sf", "--max-time", "3", "http://\(vip)/"], check: false)
                #expect(r.status == 0, "VIP from inside a container: \(r.err)")
                fromContainer.insert(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(fromContainer == names)
            // the external port on every node's underlay address
            try await eventually("the external port on node 3 answers from a replica", timeout: .seconds(15)) {
                let ext = try c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(c.hostIP(3)):30080/"])
                return ext.status == 0 && names.contains(ext.out.trimmingCharacters(in: .whitespacesAndNewlines))
            }

            // service DNS, no exec: a client replica resolves `web` (search demo.kumo) and `web.demo.kumo` from its
            // node's dnsmasq (busybox nslookup), fetches through the VIP (nc: busybox-static's wget segfaults here)
            // and serves what it got
            try c.apply("""
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: client, project: demo}
                spec:
                  image: busybox:latest
                  command: ["sh", "-c", "mkdir -p /tmp/www; while true; do a=$(nslookup web | awk '/^Name:/ {n=1} n && /^Address/ {print $2; exit}'); b=$(nslookup web.demo.kumo | awk '/^Name:/ {n=1} n && /^Address/ {print $2; exit}'); echo $a $b > /tmp/www/ips.txt; printf 'GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' | nc -w 2 $a 80 | tail -n 1 > /tmp/www/short.txt; printf 'GET / HTTP/1.0\\r\\nHost: web.demo.kumo\\r\\n\\r\\n' | nc -w 2 $b 80 | tail -n 1 > /tmp/www/full.txt; cp /etc/resolv.conf /tmp/www/resolv.txt; sleep 1; done & exec httpd -f -p 8080 -h /tmp/www"]
                  terminationGracePeriodSeconds: 1
                """)
            var seen = ""
            do {
                try await eventually("the client fetched web by name", timeout: .seconds(60)) {
                    let r = try await c.admin.get(.replica, "client", project: "demo")
                    guard r["status"]?["phase"] == "Running", let ip = r["spec"]?["network"]?["ip"]?.stringValue,
                        let node = r["spec"]?["nodeName"]?.stringValue
                    else { return false }
                    let i = (1...3).first { c.nodeName($0) == node } ?? 1
                    let short = try c.inHost(i, ["curl", "-sf", "--max-time", "3", "http://\(ip):8080/short.txt"])
                    let full = try c.inHost(i, ["curl", "-sf", "--max-time", "3", "http://\(ip):8080/full.txt"])
                    seen = "short: \(short.status) \(short.out) full: \(full.status) \(full.out) resolv: "
                        + (try c.inHost(i, ["curl", "-s", "--max-time", "3", "http://\(ip):8080/resolv.txt"]).out)
                        + " ips: " + (try c.inHost(i, ["curl", "-s", "--max-time", "3", "http://\(ip):8080/ips.txt"]).out)
                        + " logs: " + ((try? c.kumo(["logs", "replica/client", "-p", "demo", "--tail", "20"])) ?? "")
                    return names.contains(short.out.trimmingCharacters(in: .whitespacesAndNewlines))
                        && names.contains(full.out.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            } catch {
                Issue.record("service DNS: \(seen)")
                throw error
            }
            let client = try await c.admin.get(.replica, "client", project: "demo")
            let clientIP = try #require(client["spec"]?["network"]?["ip"]?.stringValue)
            let clientHost = (1...3).first { c.nodeName($0) == client["spec"]?["nodeName"]?.stringValue } ?? 1
            let resolv = try c.inHost(clientHost, ["curl", "-sf", "--max-time", "3", "http://\(clientIP):8080/resolv.txt"]).out
            #expect(resolv.contains("search demo.kumo kumo") && resolv.contains("nameserver 10.244."), "\(resolv)")
            let ips = try c.inHost(clientHost, ["curl", "-sf", "--max-time", "3", "http://\(clientIP):8080/ips.txt"]).out
            #expect(ips.trimmingCharacters(in: .whitespacesAndNewlines) == "\(vip) \(vip)", "both names resolve to the VIP: \(ips)")

            // LB internal state: kumo state lb/NODE and kumo describe
            let lb = try JSONValue(parsing: Array(try c.kumo(["state", "lb/\(c.nodeName(1))"]).utf8))
            #expect(lb["haproxy"]?["state"]?.stringValue?.hasPrefix("running") == true)
            #expect(lb["vips"]?.arrayValue?.contains(.string(vip)) == true)
            let port = lb["services"]?.arrayValue?.first { $0["service"] == "demo/web" }?["ports"]?.arrayValue?.first
            #expect(port?["servers"]?.arrayValue?.count == 3)
            #expect((port?["servers"]?.arrayValue ?? []).allSatisfy { $0["status"]?.stringValue?.hasPrefix("UP") == true })
            let describe = try c.kumo(["describe", "service/web", "-p", "demo"])
            #expect(describe.contains("Load balancers") && describe.contains("demo.web:80") && describe.contains("last reload"), "\(describe)")

            // an external port another program holds on node 1: node 1 leaves that port out (and says who holds it),
            // keeps serving every VIP and the other service's external port, and the other nodes publish it
            let squatter = Process()
            squatter.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            squatter.arguments = ["--net=/run/netns/\(c.host(1))", "busybox", "nc", "-l", "-p", "30090"]
            try squatter.run()
            defer { if squatter.isRunning { kill(squatter.processIdentifier, SIGKILL) } }
            try await Task.sleep(for: .milliseconds(300))
            try c.apply(Self.service(name: "blocked", app: "web", external: 30090))
            let blocked = try await converged(c, service: "blocked", endpoints: 3)
            let blockedVIP = try #require(blocked["spec"]?["clusterIP"]?.stringValue)
            try await eventually("node 1 serves the VIP, node 2 publishes the port", timeout: .seconds(20)) {
                try c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(blockedVIP)/"]).status == 0
                    && c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(c.hostIP(2)):30090/"]).status == 0
            }
            let lb1 = try JSONValue(parsing: Array(try c.kumo(["state", "lb/\(c.nodeName(1))"]).utf8))
            let lastError = lb1["lastError"]?.stringValue ?? ""
            #expect(
                lastError.contains("external ports not published on this node: 30090 (demo/blocked) held by pid \(squatter.processIdentifier) (busybox nc"),
                "\(lastError)")
            #expect(lb1["withheldExternalPorts"]?.arrayValue?.map { $0["port"]?.numberValue } == [30090], "\(lb1["withheldExternalPorts"] ?? .null)")
            let node1External = try c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(c.hostIP(1)):30080/"])
            #expect(
                node1External.status == 0 && names.contains(node1External.out.trimmingCharacters(in: .whitespacesAndNewlines)),
                "node 1 still serves web's external port: \(node1External.err)")

            // a service added after the squatter is served on node 1 too (it was refused there while every reload
            // tried the squatted port): no matching replicas → 503 and a clear status
            try c.apply(Self.service(name: "nothing", app: "nothing"))
            let empty = try await converged(c, service: "nothing", endpoints: 0)
            #expect(empty["status"]?["reason"] == "NoEndpoints")
            #expect(empty["status"]?["message"]?.stringValue?.contains("no replica matches selector app=nothing") == true)
            let emptyVIP = try #require(empty["spec"]?["clusterIP"]?.stringValue)
            let code = try c.inHost(1, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3", "http://\(emptyVIP)/"])
            #expect(code.out == "503", "node 1 serves the service added after the squatter: \(code.out) \(code.err)")
            let stillBlocked = try c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(blockedVIP)/"])
            #expect(stillBlocked.status == 0, "and still the blocked service's VIP: \(stillBlocked.err)")

            // the squatter leaves: node 1 publishes the port within its 10 s re-check
            kill(squatter.processIdentifier, SIGKILL)
            squatter.waitUntilExit()
            try await eventually("node 1 publishes 30090 once it is free", timeout: .seconds(20)) {
                let r = try c.inHost(1, ["curl", "-sf", "--max-time", "3", "http://\(c.hostIP(1)):30090/"])
                return r.status == 0 && names.contains(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let lb1After = try JSONValue(parsing: Array(try c.kumo(["state", "lb/\(c.nodeName(1))"]).utf8))
            #expect(lb1After["lastError"] == .null, "\(lb1After["lastError"] ?? .null)")
            try await eventually("events for the busy and the published port") {
                let events = try c.kumo(["events"])
                return events.contains("ExternalPortBusy") && events.contains("ExternalPortPublished")
            }

            // the agent's /metrics, through the server's proxy (the agent itself accepts only the server)
            let metrics = String(
                decoding: try await c.admin.send(.GET, "/api/v1/nodes/\(c.nodeName(1))/metrics").body, as: UTF8.self)
            #expect(metrics.contains("kumo_agent_lb_server_up{backend=\"demo.web:80\",server=\""), "LB series on /metrics")
            #expect(metrics.contains("# TYPE kumo_agent_lb_requests_total counter"))
            #expect(metrics.contains("kumo_agent_lb_last_reload_seconds "))

            // conflicting external port → refused, naming the owner; invalid selector → 422
            let file = c.dir + "/dup.yaml"
            try Data(Self.service(name: "other", app: "web", external: 30080).utf8).write(to: URL(fileURLWithPath: file))
            let dup = try KumoBinary.run(["apply", "-f", file], env: ["KUMO_CONFIG": c.configPath])
            #expect(dup.status != 0)
            #expect(dup.err.contains("already published by service demo/web"), "\(dup.err)")
            let bad: JSONValue = [
                "apiVersion": "kumo/v1", "kind": "Service", "metadata": ["name": "bad"],
                "spec": ["selector": ["app": "no spaces allowed"], "ports": [["port": 80]]],
            ]
            do {
                try await c.admin.send(.POST, "/api/v1/projects/demo/services", body: bad.serialized())
                Issue.record("a selector value with spaces was accepted")
            } catch let error as KumoError {
                #expect(error.code.httpStatus == 422)
                #expect(error.field == "spec.selector.app")
            }
        }
    }

    @Test("a killed replica leaves the rotation before it is Ready again, and no request fails (retries + redispatch); a rolling update under a request loop fails no request")
    func killAndRollingUpdate() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.kumo(["image", "push", "busybox:v2", "--from-busybox", "--env", "VERSION=2"])
            try c.apply(Self.project)
            try c.apply(Self.workload())
            try c.apply(Self.service())
            try await eventually("3 serving", timeout: .seconds(60)) { try await serving(c).count == 3 }
            let svc = try await converged(c, endpoints: 3)
            let vip = try #require(svc["spec"]?["clusterIP"]?.stringValue)

            // kill one replica's container; the service and the replicas are recorded from watch streams, each node's
            // acknowledgement (its lease's loadBalancer) polled: "out of every HAProxy" is when the last node
            // acknowledged the first service revision without the victim (server clock; an upper bound, polled),
            // "Ready again" is the victim's ready status in its history (server clock)
            let services = WatchRecorder(c.admin, "/api/v1/projects/demo/services")
            let replicas = WatchRecorder(c.admin, "/api/v1/projects/demo/replicas")
            let nodeNames = try await c.admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } ?? []
            let acks = AckRecorder(c.admin, nodes: nodeNames)
            defer { services.stop(); replicas.stop(); acks.stop() }
            let loop = RequestLoop(netns: c.host(1), url: "http://\(vip)/")
            loop.start()
            try await Task.sleep(for: .seconds(1))
            let victim = try #require(try await serving(c).first)
            let name = try #require(victim["metadata"]?["name"]?.stringValue)
            let node = try #require(victim["spec"]?["nodeName"]?.stringValue)
            let state = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(node)"]).utf8))
            let runner = try #require(state["replicas"]?["runners"]?.arrayValue?.first { $0["replica"]?.stringValue == "demo/\(name)" })
            let pid = try #require(runner["pid"]?.numberValue.map { Int32($0) })
            #expect(kill(pid, SIGKILL) == 0)
            func readyAgain(_ r: JSONValue) -> Bool {
                r["metadata"]?["name"]?.stringValue == name && (r["status"]?["restartCount"]?.numberValue ?? 0) >= 1
                    && r["status"]?["ready"] == true
            }
            try await eventually("\(name) Ready again after its restart, and seen by the watch", timeout: .seconds(40)) {
                replicas.recorded.contains(where: readyAgain)
            }
            // the first version of the service without the victim, and when every node's HAProxy served it
            let without = try #require(
                services.recorded.first { s in
                    s["metadata"]?["name"] == "web"
                        && !(s["status"]?["endpoints"]?.arrayValue?.contains { $0["replica"]?.stringValue == name } ?? true)
                }, "the endpoints dropped \(name)")
            let dropped = Int64(WatchRecorder.revision(without))
            #expect(nodeNames.count == 3)
            let served = nodeNames.map { acks.firstServing($0, atLeast: dropped) }
            let history = try await c.admin.send(.GET, "/api/v1/projects/demo/replicas/\(name)/history").decode(HistoryList.self)
            let readyAt = try #require(
                history.items.first { h in
                    (h.revision ?? 0) > dropped && h.manager.hasPrefix("node/")
                        && h.patch.contains {
                            ($0.path == "/status/ready" && $0.value == .bool(true)) || ($0.path == "/status" && $0.value?["ready"] == .bool(true))
                        }
                }.flatMap { Timestamp(rfc3339: $0.time) }, "\(name) Ready again in its history")
            let removedEverywhere = try #require(
                served.allSatisfy { $0 != nil } ? served.compactMap { $0 }.max() : nil,
                "every node acknowledged revision \(dropped): \(served)")
            #expect(
                removedEverywhere <= readyAt,
                "out of every HAProxy (\(removedEverywhere)) before it was Ready again (\(readyAt))")
            _ = try await converged(c, endpoints: 3)
            try await Task.sleep(for: .seconds(1))
            let killed = loop.stop()
            #expect(killed.sent > 20)
            #expect(killed.failed == 0, "\(killed.failed) of \(killed.sent) requests failed around the kill: \(killed.errors)")

            // rolling update under a bounded request loop
            let rollout = RequestLoop(netns: c.host(2), url: "http://\(vip)/")
            rollout.start()
            try c.apply(Self.workload(image: "busybox:v2"))
            try await eventually("rolled out to v2", timeout: .seconds(90)) {
                let s = try await serving(c)
                let all = try await c.admin.send(.GET, "/api/v1/projects/demo/replicas").json()["items"]?.arrayValue ?? []
                return s.count == 3 && all.count == 3 && s.allSatisfy { $0["spec"]?["image"] == "busybox:v2" }
            }
            _ = try await converged(c, endpoints: 3)
            let result = rollout.stop()
            #expect(result.sent > 50)
            #expect(result.failed == 0, "\(result.failed) of \(result.sent) requests failed during the rolling update: \(result.errors)")
            let names = Set(try await serving(c).compactMap { $0["metadata"]?["name"]?.stringValue })
            #expect(result.lastReplies(3).isSubset(of: names), "the last replies come from the new replicas")
            let events = try c.kumo(["events", "-p", "demo"])
            #expect(!events.contains("DrainTimeout"), "every stop drained in time: \(events)")
            // the 3 old replicas each waited in their stop hook until every node's HAProxy had dropped them
            var drained: [JSONValue] = []
            for i in 1...3 {
                let lb = try JSONValue(parsing: Array(try c.kumo(["state", "lb/\(c.nodeName(i))"]).utf8))
                drained += (lb["recentDrains"]?.arrayValue ?? []).filter { $0["outcome"] == "drained" }
            }
            #expect(drained.count >= 3, "drains recorded by the stopping replicas' agents: \(drained)")
        }
    }
}

extension ServiceE2ETests {
    @Test("autoscale: a load generator pushes requests/s per replica over the target → replicas rise to max; load stops → back to min after the window; events carry the figures")
    func autoscale() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            try c.apply(Self.workload(replicas: 1, name: "api", app: "api") + """

                  autoscale: {min: 1, max: 3, metric: requestsPerSecond, target: 3, windowSeconds: 5}
                """)
            try c.apply(Self.service(name: "api", app: "api"))
            let svc = try await converged(c, service: "api", endpoints: 1)
            let vip = try #require(svc["spec"]?["clusterIP"]?.stringValue)
            func replicas() async throws -> Int {
                Int(try await c.admin.get(.workload, "api", project: "demo")["spec"]?["replicas"]?.numberValue ?? 0)
            }
            #expect(try await replicas() == 1)

            // bounded load inside host 1's namespace (two client loops): far over 3 req/s per replica
            let loads = [RequestLoop(netns: c.host(1), url: "http://\(vip)/"), RequestLoop(netns: c.host(2), url: "http://\(vip)/")]
            for l in loads { l.start() }
            var peak = 0
            do {
                try await eventually("scaled out to max", timeout: .seconds(60)) {
                    peak = max(peak, try await replicas())
                    return peak == 3
                }
            } catch {
                for l in loads { _ = l.stop() }
                throw error
            }
            try await eventually("3 endpoints", timeout: .seconds(60)) {
                try await c.admin.get(.service, "api", project: "demo")["status"]?["endpoints"]?.arrayValue?.count == 3
            }
            let sent = loads.map { $0.stop() }
            #expect(sent.reduce(0) { $0 + $1.failed } == 0, "no request failed while scaling out")
            let stopped = ContinuousClock.now
            try await eventually("back to min after the load stopped", timeout: .seconds(90)) { try await replicas() == 1 }
            #expect(ContinuousClock.now - stopped >= .seconds(5), "not before the stabilisation window")
            let events = try c.kumo(["events", "-p", "demo"])
            #expect(events.contains("ScaledOut") && events.contains("ScaledIn"), "\(events)")
            #expect(events.contains("req/s per replica"), "events carry the metric values: \(events)")
            let w = try await c.admin.get(.workload, "api", project: "demo")
            #expect(w["status"]?["autoscale"]?["metric"] == "requestsPerSecond")
            #expect(w["metadata"]?["managedFields"]?["spec.replicas"] == "autoscaler")
        }
    }
}

extension ServiceE2ETests {
    @Test("saturation: one slow replica with maxConnectionsPerReplica 1 → requests queue in HAProxy, and kumo describe says so in plain words")
    func saturationFinding() async throws {
        try await withCloud(agents: 1) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            // answers one connection at a time, each after 2 s
            try c.apply("""
                apiVersion: kumo/v1
                kind: Workload
                metadata: {name: slow, project: demo}
                spec:
                  replicas: 1
                  template:
                    labels: {app: slow}
                    spec:
                      image: busybox:latest
                      command: ["sh", "-c", 'while true; do { sleep 2; printf "HTTP/1.0 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nslow\\n"; } | nc -l -p 8080; done']
                      terminationGracePeriodSeconds: 1
                """)
            try c.apply("""
                apiVersion: kumo/v1
                kind: Service
                metadata: {name: slow, project: demo}
                spec:
                  selector: {app: slow}
                  ports: [{port: 80, targetPort: 8080, protocol: HTTP}]
                  maxConnectionsPerReplica: 1
                  healthCheck: {enabled: false}
                """)
            let svc = try await converged(c, service: "slow", endpoints: 1)
            let vip = try #require(svc["spec"]?["clusterIP"]?.stringValue)
            // 6 clients at once: one is served, the others wait in the backend's queue
            var clients: [Process] = []
            defer {
                for p in clients where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            }
            for _ in 0..<6 {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                p.arguments = ["netns", "exec", c.host(1), "curl", "-s", "-o", "/dev/null", "--max-time", "20", "http://\(vip)/"]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                clients.append(p)
            }
            var describe = ""
            try await eventually("a queue finding", timeout: .seconds(20)) {
                describe = try c.kumo(["describe", "service/slow", "-p", "demo"])
                return describe.contains("waiting in the queue") || describe.contains("and rising")
            }
            #expect(describe.contains("replicas are") && (describe.contains("scale out") || describe.contains("connection limit")), "\(describe)")
            let lb = try JSONValue(parsing: Array(try c.kumo(["state", "lb/\(c.nodeName(1))"]).utf8))
            let port = lb["services"]?.arrayValue?.first { $0["service"] == "demo/slow" }?["ports"]?.arrayValue?.first
            #expect((port?["peakQueue"]?.numberValue ?? 0) >= 1, "HAProxy queued requests: \(String(describing: port))")
        }
    }
}

/// A bounded client loop on its own thread (never on the test's cooperative threads): one curl per request from
/// inside a host's namespace, counting sent and failed requests and keeping the replies.
final class RequestLoop: @unchecked Sendable {
    let netns: String
    let url: String
    private let lock = NSLock()
    private var running = false
    private var sent = 0
    private var failed = 0
    private var errors: [String] = []
    private var replies: [String] = []
    private let done = DispatchSemaphore(value: 0)

    init(netns: String, url: String) {
        self.netns = netns
        self.url = url
    }

    func start() {
        lock.withLock { running = true }
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let r = try? LocalCloud.sh(["ip", "netns", "exec", netns, "curl", "-sf", "--max-time", "5", url], check: false)
                lock.withLock {
                    sent += 1
                    if let r, r.status == 0 {
                        replies.append(r.out.trimmingCharacters(in: .whitespacesAndNewlines))
                        if replies.count > 1000 { replies.removeFirst(500) }
                    } else {
                        failed += 1
                        if errors.count < 10 { errors.append("curl exit \(r?.status ?? -1) \(r?.err ?? "")") }
                    }
                }
            }
            done.signal()
        }
        thread.start()
    }

    struct Result {
        var sent: Int
        var failed: Int
        var errors: [String]
        var replies: [String]
        func lastReplies(_ n: Int) -> Set<String> { Set(replies.suffix(n)) }
    }

    func stop() -> Result {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { Result(sent: sent, failed: failed, errors: errors, replies: replies) }
    }
}
