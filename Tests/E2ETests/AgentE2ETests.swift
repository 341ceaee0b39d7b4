import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// The node agent for real: `kumo server` + `kumo agent` processes on network-namespace hosts, runc containers
/// from an image pushed with `kumo image push`, everything driven through the CLI and the API.
@Suite("Agents on netns hosts, real runc containers", .serialized, .enabled(if: LocalCloud.available, "needs root, runc and busybox-static"))
struct AgentE2ETests {
    static let project = """
        apiVersion: kumo/v1
        kind: Project
        metadata: {name: demo}
        """

    static func workload(replicas: Int = 3, image: String = "busybox:latest", extra: String = "") -> String {
        """
        apiVersion: kumo/v1
        kind: Workload
        metadata: {name: web, project: demo}
        spec:
          replicas: \(replicas)
          \(extra)
          template:
            labels: {app: web}
            spec:
              image: \(image)
              command: ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
              resources: {cpu: 100m, memory: 32Mi}
              terminationGracePeriodSeconds: 2
              readinessProbe:
                httpGet: {path: /, port: 8080}
                periodSeconds: 1
        """
    }

    func replicas(_ c: LocalCloud) async throws -> [JSONValue] {
        try await c.admin.send(.GET, "/api/v1/projects/demo/replicas").json()["items"]?.arrayValue ?? []
    }

    /// Replicas Running and ready, not being deleted.
    func serving(_ c: LocalCloud) async throws -> [JSONValue] {
        try await replicas(c).filter {
            $0["status"]?["phase"] == "Running" && $0["status"]?["ready"] == true && $0["metadata"]?["deletionTimestamp"] == nil
        }
    }

    func hostIndex(_ c: LocalCloud, node: String) -> Int {
        (1...c.agentCount).first { c.nodeName($0) == node } ?? 0
    }

    @Test("an agent whose endpoint cannot listen stops with an error naming it, instead of heartbeating half-alive")
    func endpointFailureStopsTheAgent() async throws {
        try await withCloud(agents: 1, starting: 0) { c in
            // another program holds the agent's port in its host
            let squatter = Process()
            squatter.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            squatter.arguments = ["netns", "exec", c.host(1), "busybox", "nc", "-l", "-p", "7481"]
            try squatter.run()
            defer {
                // SIGKILL: a child spawned from the test process inherits its blocked signals (SIGTERM among them)
                kill(squatter.processIdentifier, SIGKILL)
                squatter.waitUntilExit()
            }
            try await Task.sleep(for: .milliseconds(300))
            try c.startAgent(1)
            try await eventually("the agent exits", timeout: .seconds(60)) { c.agentExitStatus(1) != nil }
            #expect(c.agentExitStatus(1) != 0)
            #expect(c.agentLog(1).contains("agent endpoint"), "\(c.agentLog(1).suffix(2000))")
        }
    }

    @Test("an agent started while its server is down keeps retrying the join, and joins when the server is back")
    func joinWaitsForTheServer() async throws {
        try await withCloud(agents: 1, starting: 0) { c in
            _ = c.server.terminate()
            try c.startAgent(1)
            try await eventually("the agent says it retries", timeout: .seconds(20)) {
                c.agentLog(1).contains("retrying the join")
            }
            try await Task.sleep(for: .seconds(2))
            #expect(c.agentExitStatus(1) == nil, "\(c.agentLog(1).suffix(2000))")
            try await c.restartServer()
            try await c.waitForReadyNodes(1)
        }
    }

    @Test("a workload of 3 runs spread over 3 agents, reachable from its host; a killed container restarts; an agent restart re-adopts; logs")
    func workloadOnRealAgents() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            try c.apply(Self.workload())
            try await eventually("3 serving replicas on 3 nodes", timeout: .seconds(60)) {
                let s = try await serving(c)
                return s.count == 3 && Set(s.compactMap { $0["spec"]?["nodeName"]?.stringValue }).count == 3
            }
            let running = try await serving(c)
            for r in running {
                let ip = try #require(r["spec"]?["network"]?["ip"]?.stringValue)
                #expect(r["status"]?["ip"]?.stringValue == ip)
                let i = hostIndex(c, node: r["spec"]?["nodeName"]?.stringValue ?? "")
                let page = try c.inHost(i, ["curl", "-sf", "--max-time", "3", "http://\(ip):8080/"])
                #expect(page.status == 0, "replica at \(ip) answers from its host \(c.host(i))")
                #expect(page.out.contains("Kumo"))
            }

            // logs through the server's proxy (httpd -v logs each request: "IP:PORT: response:200")
            let first = running[0]
            let name = try #require(first["metadata"]?["name"]?.stringValue)
            try await eventually("logs") { try c.kumo(["logs", "replica/\(name)", "-p", "demo"]).contains("response:200") }

            // kill the container's main process: restarted per policy, restart count rises, an event says so
            let node = try #require(first["spec"]?["nodeName"]?.stringValue)
            let state = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(node)"]).utf8))
            let runner = try #require(state["replicas"]?["runners"]?.arrayValue?.first { $0["replica"]?.stringValue == "demo/\(name)" })
            let pid = try #require(runner["pid"]?.numberValue.map { Int32($0) })
            #expect(kill(pid, SIGKILL) == 0)
            try await eventually("restart of \(name)", timeout: .seconds(30)) {
                let r = try await c.admin.get(.replica, name, project: "demo")
                return (r["status"]?["restartCount"]?.numberValue ?? 0) >= 1 && r["status"]?["phase"] == "Running"
                    && r["status"]?["ready"] == true
            }
            let events = try c.kumo(["events", "-p", "demo"])
            #expect(events.contains("Restarting"), "a Restarting event: \(events)")
            let restarting = try await c.admin.send(.GET, "/api/v1/projects/demo/events").json()["items"]?.arrayValue?
                .first { $0["spec"]?["reason"] == "Restarting" }
            #expect(restarting?["spec"]?["lastTime"]?.stringValue?.isEmpty == false, "agent events carry their time (for ordering)")
            #expect(try await c.admin.get(.replica, name, project: "demo")["status"]?["exitCode"] == 137)

            // restart an agent: same containers, no restarts
            let i = hostIndex(c, node: node)
            let before = try c.containers(i)
            let restartsBefore = try await replicas(c).map { $0["status"]?["restartCount"] ?? .null }
            #expect(!before.isEmpty)
            c.stopAgent(i)
            try c.startAgent(i)
            try await Task.sleep(for: .seconds(4))
            try await c.waitForReadyNodes(3)
            #expect(try c.containers(i) == before, "same container ids after the agent restart")
            #expect(try await replicas(c).map { $0["status"]?["restartCount"] ?? .null } == restartsBefore)
            #expect(try await serving(c).count == 3)
            let again = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(node)"]).utf8))
            let adopted = again["replicas"]?["runners"]?.arrayValue?.first { $0["replica"]?.stringValue == "demo/\(name)" }
            #expect(adopted?["state"]?.stringValue?.hasPrefix("running") == true)

            // scale down: graceful deletion leaves no container behind
            try c.kumo(["scale", "workload/web", "-p", "demo", "--replicas", "1"])
            try await eventually("1 replica and 1 container", timeout: .seconds(30)) {
                let all = try await replicas(c)
                let containers = try (1...3).reduce(0) { $0 + (try c.containers($1)).count }
                return all.count == 1 && containers == 1
            }
        }
    }

    @Test("rolling update keeps every replica serving; rollout undo; a broken version is reverted")
    func rollingUpdate() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.kumo(["image", "push", "busybox:v2", "--from-busybox", "--env", "VERSION=2"])
            try c.apply(Self.project)
            try c.apply(Self.workload(extra: "progressDeadlineSeconds: 10"))
            try await eventually("3 serving", timeout: .seconds(60)) { try await serving(c).count == 3 }

            // default strategy for 3: maxSurge 1, maxUnavailable 0 → never fewer than 3 serving
            try c.apply(Self.workload(image: "busybox:v2", extra: "progressDeadlineSeconds: 10"))
            var fewest = 3
            try await eventually("rolled out to v2", timeout: .seconds(60)) {
                let s = try await serving(c)
                fewest = min(fewest, s.count)
                let all = try await replicas(c)
                return s.count == 3 && s.allSatisfy { $0["spec"]?["image"] == "busybox:v2" } && all.count == 3
            }
            #expect(fewest >= 3, "fewest serving replicas during the rollout: \(fewest)")

            try c.kumo(["rollout", "undo", "workload/web", "-p", "demo"])
            try await eventually("undone to latest", timeout: .seconds(60)) {
                let s = try await serving(c)
                return s.count == 3 && s.allSatisfy { $0["spec"]?["image"] == "busybox:latest" }
            }

            // an image that does not exist never becomes ready: the rollout is reverted after its deadline
            try c.apply(Self.workload(image: "busybox:missing", extra: "progressDeadlineSeconds: 10"))
            try await eventually("reverted", timeout: .seconds(60)) {
                let w = try await c.admin.get(.workload, "web", project: "demo")
                return w["spec"]?["template"]?["spec"]?["image"] == "busybox:latest"
            }
            try await eventually("3 serving after the revert", timeout: .seconds(60)) {
                let s = try await serving(c)
                let all = try await replicas(c)
                return s.count == 3 && all.allSatisfy { $0["spec"]?["image"] == "busybox:latest" }
            }
            let events = try c.kumo(["events", "-p", "demo"])
            #expect(events.contains("ImagePullFailed"), "the broken version's pull failure is an event")
        }
    }

    @Test("node loss: replicas run elsewhere; when the node comes back exactly `replicas` copies exist")
    func nodeLoss() async throws {
        try await withCloud { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            try c.apply(Self.workload())
            try await eventually("3 serving on 3 nodes", timeout: .seconds(60)) {
                Set(try await serving(c).compactMap { $0["spec"]?["nodeName"]?.stringValue }).count == 3
            }
            let lost = 3
            let cut = ContinuousClock.now
            c.stopAgent(lost, kill9: true)
            try c.setLink(lost, up: false)
            try await eventually("3 serving without node 3", timeout: .seconds(30)) {
                let s = try await serving(c)
                return s.count == 3 && !s.contains { $0["spec"]?["nodeName"]?.stringValue == c.nodeName(lost) }
            }
            let took = ContinuousClock.now - cut
            #expect(took < .seconds(20), "replaced in \(took)")
            #expect(try c.containers(lost).count == 1, "the lost node's container still runs, unsupervised")

            try c.setLink(lost, up: true)
            try c.startAgent(lost)
            try await c.waitForReadyNodes(3)
            try await eventually("the returning node stops what is no longer bound to it", timeout: .seconds(30)) {
                try c.containers(lost).isEmpty
            }
            let total = try (1...3).reduce(0) { $0 + (try c.containers($1)).count }
            #expect(total == 3, "exactly 3 containers cluster-wide")
            #expect(try await serving(c).count == 3)
        }
    }

    @Test("probes: a failing liveness probe (exec) restarts the container; a failing readiness probe (tcp) keeps it not ready; a replica larger than any node stays Pending")
    func probesAndTooLarge() async throws {
        try await withCloud(agents: 1) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.project)
            try c.apply("""
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: sick, project: demo}
                spec:
                  image: busybox:latest
                  command: ["sleep", "3600"]
                  terminationGracePeriodSeconds: 1
                  livenessProbe: {exec: ["cat", "/tmp/healthy"], periodSeconds: 1, failureThreshold: 2}
                  readinessProbe: {tcpSocket: {port: 9}, periodSeconds: 1, timeoutSeconds: 1}
                """)
            try await eventually("liveness restarts", timeout: .seconds(40)) {
                let r = try await c.admin.get(.replica, "sick", project: "demo")
                return (r["status"]?["restartCount"]?.numberValue ?? 0) >= 1
            }
            let events = try c.kumo(["events", "-p", "demo"])
            #expect(events.contains("Unhealthy"), "an Unhealthy event: \(events)")
            let sick = try await c.admin.get(.replica, "sick", project: "demo")
            #expect(sick["status"]?["ready"] == false, "never ready: nothing listens on port 9")

            try c.apply("""
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: huge, project: demo}
                spec:
                  image: busybox:latest
                  command: ["sleep", "3600"]
                  resources: {cpu: "64", memory: 1Ti}
                """)
            try await eventually("FailedScheduling event") {
                try c.kumo(["events", "-p", "demo"]).contains("FailedScheduling")
            }
            let r = try await c.admin.get(.replica, "huge", project: "demo")
            #expect(r["spec"]?["nodeName"] == nil)
            #expect(r["status"]?["phase"] == "Pending")
            #expect(try c.containers(1).isEmpty)
        }
    }
}
