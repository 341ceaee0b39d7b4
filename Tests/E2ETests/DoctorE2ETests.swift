import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// The fault catalogue on a real local cloud (`kumo server` + 3 agents in network namespaces, runc, HAProxy,
/// dnsmasq): a healthy cloud with the demo applied reports no error and no warning; each injected fault makes
/// `kumo doctor -o json` rank the responsible component (and node) first, and clears when it is undone.
@Suite("Doctor: the fault catalogue on a real cloud", .serialized, .enabled(if: LocalCloud.available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy"), "needs root, runc, busybox-static, haproxy and dnsmasq"))
struct DoctorE2ETests {
    /// Project demo: workload web (`replicas`, httpd with a readiness probe) behind service web.
    /// One workload of the demo project: `extra` lines are fields of its template's spec.
    static func workload(
        _ name: String, replicas: Int = 1, image: String = "busybox:latest", command: String? = #"["sleep", "3600"]"#,
        extra: [String] = []
    ) -> String {
        var lines = [
            "apiVersion: kumo/v1", "kind: Workload", "metadata: {name: \(name), project: demo}", "spec:", "  replicas: \(replicas)",
            "  template:", "    labels: {app: \(name)}", "    spec:", "      image: \(image)",
        ]
        if let command { lines.append("      command: \(command)") }
        lines += extra.map { "      " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }

    static func demo(replicas: Int = 3) -> String {
        """
        apiVersion: kumo/v1
        kind: Project
        metadata: {name: demo}
        ---
        apiVersion: kumo/v1
        kind: Workload
        metadata: {name: web, project: demo}
        spec:
          replicas: \(replicas)
          template:
            labels: {app: web}
            spec:
              image: busybox:latest
              command: ["sh", "-c", "mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
              resources: {cpu: 100m, memory: 32Mi}
              terminationGracePeriodSeconds: 1
              readinessProbe:
                httpGet: {path: /, port: 8080}
                periodSeconds: 1
        ---
        apiVersion: kumo/v1
        kind: Service
        metadata: {name: web, project: demo}
        spec:
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080, protocol: HTTP}]
        """
    }

    struct Answer {
        var json: JSONValue
        var causes: [JSONValue] { json["causes"]?.arrayValue ?? [] }
        var checks: [JSONValue] { json["checks"]?.arrayValue ?? [] }
        var first: JSONValue? { causes.first }
        func codes() -> [String] { checks.compactMap { $0["code"]?.stringValue } }
    }

    func doctor(_ c: LocalCloud, _ args: [String] = []) throws -> Answer {
        Answer(json: try JSONValue(parsing: Array(try c.kumo(["doctor"] + args + ["-o", "json"]).utf8)))
    }

    /// Waits until the first cause has `code` (one of them), `component` and `node`.
    @discardableResult
    func ranksFirst(_ c: LocalCloud, _ codes: Set<String>, component: String, node: String?, anyNode: Bool = false, args: [String] = [], timeout: Duration = .seconds(40)) async throws -> JSONValue {
        var last = Answer(json: [:])
        do {
            try await eventually("doctor ranks \(codes) (\(component), \(node ?? "no node")) first", timeout: timeout) {
                last = try doctor(c, args)
                guard let f = last.first else { return false }
                return codes.contains(f["code"]?.stringValue ?? "") && f["component"]?.stringValue == component
                    && (anyNode || f["node"]?.stringValue == node)
            }
        } catch {
            print("last doctor answer: \(last.json.prettyString)")
            throw error
        }
        return last.first!
    }

    func clears(_ c: LocalCloud, _ code: String, timeout: Duration = .seconds(40)) async throws {
        try await eventually("\(code) clears", timeout: timeout) { !(try doctor(c).codes().contains(code)) }
    }

    @Test("healthy: no error, no warning; then dnsmasq stopped, overlay data removed by a script, an agent killed, a selector matching nothing, a crash loop, an unknown DHCP client — each ranked first")
    func catalogue() async throws {
        try await withCloud(agents: 3) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.demo())
            try await eventually("3 replicas serve", timeout: .seconds(60)) {
                let svc = try await c.admin.get(.service, "web", project: "demo")
                return (svc["status"]?["endpoints"]?.arrayValue ?? []).count == 3
            }
            // a minute of normal work: heartbeats, health reports, probes, readiness checks, the doctor's rounds
            try await Task.sleep(for: .seconds(60))
            let start = ContinuousClock.now
            let healthy = try doctor(c)
            print("kumo doctor on the local cloud took \(ContinuousClock.now - start)")
            let noisy = healthy.checks.filter { $0["severity"]?.stringValue != "info" }
            #expect(noisy.isEmpty, "a healthy cloud reports: \(noisy.map { $0.jsonString })")
            #expect(healthy.json["status"]?.stringValue == "ok")
            let explain = try c.kumo(["explain", "dnsmasq"])
            #expect(explain.contains("dnsmasq on \(c.nodeName(2)): answering"), "\(explain)")

            // dnsmasq stopped (SIGSTOP keeps its pid and sockets): only an answer tells
            let health = try await c.admin.send(.GET, APIPaths.nodeHealth(c.nodeName(2))).json()
            let pid = try #require(health["dnsmasq"]?["pid"]?.intValue)
            kill(pid_t(pid), SIGSTOP)
            let d = try await ranksFirst(c, ["DNSMASQ_DOWN"], component: "dnsmasq", node: c.nodeName(2))
            #expect(d["summary"]?.stringValue?.contains("stopped or hung") == true)
            kill(pid_t(pid), SIGCONT)
            try await clears(c, "DNSMASQ_DOWN")

            // the incident: a script replaces the node's status and drops its overlay data
            try await c.admin.send(
                .PATCH, APIPaths.object(.node, project: nil, name: c.nodeName(2)),
                query: [("force", "true"), ("manager", "admin/node-sync")], body: ({ let p: JSONValue = ["status": ["overlay": .null]]; return p.serialized() })(),
                contentType: "application/merge-patch+json")
            let o = try await ranksFirst(c, ["OVERLAY_DATA_MISSING", "OVERLAY_DATA_REPAIRED"], component: "operator", node: c.nodeName(2))
            #expect(o["summary"]?.stringValue?.contains("admin/node-sync") == true, "\(o.jsonString)")
            // repaired by the agent, it stays a warning naming the writer
            try await eventually("the repair is remembered") { try doctor(c).codes().contains("OVERLAY_DATA_REPAIRED") }
            try c.kumo(["doctor", "mute", "OVERLAY_DATA_REPAIRED", "--ttl", "1h"])

            // a selector that matches nothing
            try c.apply("apiVersion: kumo/v1\nkind: Service\nmetadata: {name: ghost, project: demo}\nspec:\n  selector: {app: ghots}\n  ports: [{port: 80}]\n")
            try await ranksFirst(c, ["SERVICE_SELECTOR_MATCHES_NOTHING"], component: "spec", node: nil, args: ["service/ghost", "-p", "demo"])
            try c.kumo(["delete", "service/ghost", "-p", "demo"])

            // a crash loop: the exit code and the last log line
            try c.apply(
                Self.workload(
                    "crashy", command: #"["sh", "-c", "echo starting; echo 'fatal: /etc/app.conf not found'; exit 3"]"#,
                    extra: ["resources: {cpu: 50m, memory: 16Mi}"]))
            let cl = try await ranksFirst(c, ["CRASH_LOOP"], component: "spec", node: nil, anyNode: true, args: ["workload/crashy", "-p", "demo"], timeout: .seconds(60))
            #expect(cl.jsonString.contains("exit code 3"), "\(cl.jsonString)")
            // the last log line arrives with the node's next report while the replica waits to restart
            try await eventually("the crash loop shows the last log line", timeout: .seconds(60)) {
                let t = try doctor(c, ["workload/crashy", "-p", "demo"]).first?.jsonString ?? ""
                return t.contains("fatal: /etc/app.conf not found")
            }
            try c.kumo(["delete", "workload/crashy", "-p", "demo"])

            // a DHCP client Kumo does not know, on node 2's bridge
            let ns = "\(c.prefix)dhcp"
            let mac = "52:54:00:12:34:56"
            try LocalCloud.sh(["ip", "netns", "add", ns])
            try await withCleanup {
                try c.inHost(2, ["ip", "link", "add", "dhx", "type", "veth", "peer", "name", "dhxp"], check: true)
                try c.inHost(2, ["ip", "link", "set", "dhx", "master", "kumo0", "up"], check: true)
                try c.inHost(2, ["ip", "link", "set", "dhxp", "netns", ns], check: true)
                try LocalCloud.sh(["ip", "-n", ns, "link", "set", "dhxp", "address", mac, "up"])
                _ = try LocalCloud.sh(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "dhxp", "-n", "-q", "-t", "6", "-T", "1", "-s", "/bin/true"], check: false)
                let u = try await ranksFirst(c, ["DHCP_UNKNOWN_CLIENT"], component: "host", node: c.nodeName(2))
                #expect(u["summary"]?.stringValue?.contains(mac) == true, "\(u.jsonString)")
            } cleanup: {
                _ = try? c.inHost(2, ["ip", "link", "del", "dhx"])
                _ = try? LocalCloud.sh(["ip", "netns", "del", ns], check: false)
            }
            try c.kumo(["doctor", "mute", "DHCP_UNKNOWN_CLIENT", "--ttl", "1h"])

            // an agent killed while its containers run: the peers still reach the node
            c.stopAgent(3, kill9: true)
            let a = try await ranksFirst(c, ["AGENT_DOWN"], component: "agent", node: c.nodeName(3), timeout: .seconds(60))
            #expect(a.jsonString.contains("answered"), "the peers' probes are the evidence: \(a.jsonString)")
            // the findings show where operators look first
            let nodes = try c.kumo(["get", "nodes"])
            #expect(nodes.contains("HEALTH") && nodes.contains("AGENT_DOWN"), "\(nodes)")
            let described = try c.kumo(["describe", "node/\(c.nodeName(3))"])
            #expect(described.contains("AGENT_DOWN") && described.contains("root cause"), "\(described)")
            try c.startAgent(3)
            try await clears(c, "AGENT_DOWN", timeout: .seconds(60))

            // the same silence, but the node's link is down: no peer reaches it
            try c.setLink(3, up: false)
            try await ranksFirst(c, ["NODE_UNREACHABLE"], component: "underlay", node: c.nodeName(3), timeout: .seconds(60))
            try c.setLink(3, up: true)
            try await clears(c, "NODE_UNREACHABLE", timeout: .seconds(60))
            try await c.waitForReadyNodes(3)
        }
    }

    @Test("replicas Pending for each reason (every node cordoned, a request no node has, no room left, a full pod subnet, a missing secret), an image never pushed, a port another program holds — each ranked first")
    func pendingAndPorts() async throws {
        // a /28 per node (the smallest allowed): 13 addresses each, so a workload of 30 fills both
        try await withCloud(agents: 2, configure: { $0.serverArguments += ["--node-subnet-size", "28"] }) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: demo}\n")
            try await c.waitForReadyNodes(2)
            for i in 1...2 { try c.kumo(["cordon", c.nodeName(i)]) }
            try c.apply(Self.workload("waits"))
            try await ranksFirst(c, ["NODES_CORDONED"], component: "operator", node: nil, timeout: .seconds(60))
            for i in 1...2 { try c.kumo(["cordon", c.nodeName(i), "--undo"]) }
            try await clears(c, "NODES_CORDONED")

            try c.apply(Self.workload("huge", extra: [#"resources: {cpu: "64", memory: 16Mi}"#]))
            try await ranksFirst(c, ["REQUEST_EXCEEDS_NODES"], component: "spec", node: nil, args: ["workload/huge", "-p", "demo"], timeout: .seconds(60))
            try c.kumo(["delete", "workload/huge", "-p", "demo"])

            try c.apply(Self.workload("needs-secret", extra: ["env: [{name: PW, secretRef: {name: db, key: password}}]"]))
            let s = try await ranksFirst(c, ["SECRET_MISSING"], component: "spec", node: nil, args: ["workload/needs-secret", "-p", "demo"])
            #expect(s["object"]?["name"]?.stringValue == "db")
            try c.kumo(["delete", "workload/needs-secret", "-p", "demo"])

            try c.apply(Self.workload("typo", image: "busybx:latest"))
            try await ranksFirst(c, ["IMAGE_NOT_FOUND"], component: "spec", node: nil, args: ["workload/typo", "-p", "demo"])
            try c.kumo(["delete", "workload/typo", "-p", "demo"])

            // each fits a node (2 cpus) alone, but only one per node: the third finds no room
            try c.apply(Self.workload("big", replicas: 3, extra: ["resources: {cpu: 1500m, memory: 16Mi}"]))
            let full = try await ranksFirst(c, ["INSUFFICIENT_CAPACITY"], component: "operator", node: nil, args: ["workload/big", "-p", "demo"], timeout: .seconds(60))
            #expect(full.jsonString.contains("insufficient cpu"), "the scheduler's reason is the evidence: \(full.jsonString)")
            try c.kumo(["delete", "workload/big", "-p", "demo"])
            try await clears(c, "INSUFFICIENT_CAPACITY")

            // more replicas than the nodes' pod subnets have addresses: placed, but never bound
            try c.apply(Self.workload("filler", replicas: 30, extra: ["resources: {cpu: 10m, memory: 8Mi}"]))
            let subnet = try await ranksFirst(c, ["SUBNET_EXHAUSTED"], component: "ipam", node: nil, anyNode: true, args: ["workload/filler", "-p", "demo"], timeout: .seconds(60))
            #expect(subnet["summary"]?.stringValue?.contains("/28") == true && subnet["severity"]?.stringValue == "error", "\(subnet.jsonString)")
            try c.kumo(["delete", "workload/filler", "-p", "demo"])
            try await clears(c, "SUBNET_EXHAUSTED", timeout: .seconds(60))

            // another program holds the external port on node 2
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            holder.arguments = ["netns", "exec", c.host(2), "busybox", "nc", "-l", "-p", "30111"]
            try holder.run()
            try await withCleanup {
                try c.apply("""
                    apiVersion: kumo/v1
                    kind: Service
                    metadata: {name: edge, project: demo}
                    spec:
                      selector: {app: waits}
                      ports: [{port: 80, targetPort: 8080}]
                      external: {port: 30111}
                    """)
                let p = try await ranksFirst(c, ["LB_PORT_HELD"], component: "host", node: c.nodeName(2), timeout: .seconds(60))
                #expect(p["summary"]?.stringValue?.contains("30111") == true)
            } cleanup: {
                // SIGKILL: a child of the test process may inherit SIGTERM ignored
                kill(holder.processIdentifier, SIGKILL)
                holder.waitUntilExit()
            }
        }
    }
}
