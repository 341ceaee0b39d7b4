import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed

/// `start` and `failover`: real `kumo server` and `kumo agent` processes (the release binaries next to
/// kumo-bench) on network-namespace hosts, real runc containers.
enum AgentBench {
    static func pushImage(_ c: LocalCloud) throws {
        try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
        try c.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: bench}\n")
    }

    /// API create of a replica → its agent reports Running, one replica at a time, watched live.
    static func start(count: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "start")
        let cloud = LocalCloud(agents: 1)
        return try await tearingDown(cloud) {
            try await cloud.start()
            try pushImage(cloud)
            let api = cloud.admin
            // a watchdog: a start that never reports Running must not hang the benchmark (nor leave the cloud)
            let watchdog = Task {
                try await Task.sleep(for: .seconds(Double(count) * 5 + 60))
                FileHandle.standardError.write(Data("start: timed out waiting for replicas to run\n".utf8))
                cloud.dumpLogs()
                cloud.tearDown()
                exit(2)
            }
            defer { watchdog.cancel() }
            // one watch for all starts (one connection), from before the first create
            let list = try await api.send(.GET, "/api/v1/projects/bench/replicas", query: [("limit", "1")])
            let rev = Int64(try list.decode(ObjectList.self).metadata.revision) ?? 0
            var events = try await api.watch("/api/v1/projects/bench/replicas", query: [("since", String(rev))])
                .makeAsyncIterator()
            // the first start (i = 0) pulls and unpacks the image; later ones find it cached by digest
            var samples = Samples()  // create committed → the agent's Running status committed (server times)
            var watched = Samples()  // POST sent → Running seen on a watch (adds watch coalescing, ≤ 40 ms)
            for i in 0...count {
                let name = "s\(i)"
                let body: JSONValue = [
                    "apiVersion": "kumo/v1", "kind": "Replica", "metadata": ["name": .string(name), "project": "bench"],
                    "spec": [
                        "image": "busybox:latest", "command": ["sleep", "3600"], "terminationGracePeriodSeconds": 1,
                        // small requests: the node (2 cpus, 1Gi) must take all of them
                        "resources": ["cpu": "10m", "memory": "8Mi"],
                    ],
                ]
                let t0 = ContinuousClock.now
                try await api.send(.POST, "/api/v1/projects/bench/replicas", body: body.serialized())
                while true {
                    guard let event = try await events.next() else {
                        throw KumoError(.internal, "the watch ended before \(name) ran")
                    }
                    if event.object["metadata"]?["name"]?.stringValue == name && event.object["status"]?["phase"] == "Running" {
                        break
                    }
                }
                let ms = milliseconds(ContinuousClock.now - t0)
                if i > 0 {
                    watched.add(ms)
                    samples.add(try await reportedAfter(api, name))
                }
            }
            result.add("starts", Double(count))
            result.add("p50_ms", samples.percentile(50))
            result.add("p99_ms", samples.percentile(99))
            result.add("max_ms", samples.percentile(100))
            result.add("watched_p50_ms", watched.percentile(50))
            result.add("watched_p99_ms", watched.percentile(99))
            result.target("p50_ms", 100, higherIsBetter: false)
            result.target("p99_ms", 250, higherIsBetter: false)
            result.notes.append("p50/p99: create committed → scheduled and bound → agent: netns + veth, overlay rootfs, runc run -d → its Running status committed (times from the object's history)")
            result.notes.append("watched_*: the same seen by a client: POST sent → Running event on its watch (includes the watch's write coalescing)")
            result.notes.append("one node agent in a network namespace; image cached after a warm-up start; replicas started one at a time")
            return result
        }
    }

    /// Kill a node's agent and cut its link: time until its replicas run (ready) elsewhere.
    static func failover(rounds: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "failover")
        let cloud = LocalCloud(agents: 3)
        return try await tearingDown(cloud) {
            try await cloud.start()
            try pushImage(cloud)
            try cloud.apply("""
                apiVersion: kumo/v1
                kind: Workload
                metadata: {name: web, project: bench}
                spec:
                  replicas: 6
                  template:
                    labels: {app: web}
                    spec:
                      image: busybox:latest
                      command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
                      terminationGracePeriodSeconds: 1
                      readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
                """)
            func serving() async throws -> [JSONValue] {
                try await cloud.admin.send(.GET, "/api/v1/projects/bench/replicas").json()["items"]?.arrayValue?.filter {
                    $0["status"]?["phase"] == "Running" && $0["status"]?["ready"] == true
                        && $0["metadata"]?["deletionTimestamp"] == nil
                } ?? []
            }
            var samples = Samples()
            for round in 0..<rounds {
                try await eventually("6 serving replicas on 3 nodes", timeout: .seconds(90)) {
                    let s = try await serving()
                    return Set(s.compactMap { $0["spec"]?["nodeName"]?.stringValue }).count == 3 && s.count == 6
                }
                let lost = round % 3 + 1
                let cut = ContinuousClock.now
                cloud.stopAgent(lost, kill9: true)
                try cloud.setLink(lost, up: false)
                try await eventually("replicas replaced", timeout: .seconds(60)) {
                    let s = try await serving()
                    return s.count == 6 && !s.contains { $0["spec"]?["nodeName"]?.stringValue == cloud.nodeName(lost) }
                }
                let d = ContinuousClock.now - cut
                samples.add(d.secondsValue)
                // bring it back for the next round
                try cloud.setLink(lost, up: true)
                try cloud.startAgent(lost)
                try await cloud.waitForReadyNodes(3)
                try await eventually("the returned node is clean", timeout: .seconds(30)) { try cloud.containers(lost).isEmpty }
                // spread again for the next round: restart the workload's replicas on all nodes
                if round + 1 < rounds {
                    for r in try await serving() {
                        if let name = r["metadata"]?["name"]?.stringValue {
                            _ = try? await cloud.admin.send(.DELETE, "/api/v1/projects/bench/replicas/\(name)")
                        }
                    }
                }
            }
            result.add("rounds", Double(rounds))
            result.add("failover_p50_s", samples.percentile(50))
            result.add("failover_max_s", samples.percentile(100))
            result.target("failover_max_s", 10, higherIsBetter: false)
            result.notes.append("defaults: heartbeat 2 s, NotReady after 6 s without one; 6 replicas on 3 nodes, one node's agent killed and its link cut")
            result.notes.append("measured from the cut until 6 replicas are Running and ready, none on the lost node")
            return result
        }
    }

    /// Milliseconds from the replica's creation to the first status write of its agent, from its history.
    static func reportedAfter(_ api: KumoClient, _ name: String) async throws -> Double {
        let history = try await api.send(.GET, "/api/v1/projects/bench/replicas/\(name)/history").decode(HistoryList.self)
        guard let created = history.items.first(where: { $0.operation == "create" }).flatMap({ Timestamp(rfc3339: $0.time) }),
            let reported = history.items.first(where: { $0.manager.hasPrefix("node/") }).flatMap({ Timestamp(rfc3339: $0.time) })
        else { throw KumoError(.internal, "no create or agent status in the history of \(name)") }
        return Double(reported.millisecondsSinceEpoch - created.millisecondsSinceEpoch)
    }
}
