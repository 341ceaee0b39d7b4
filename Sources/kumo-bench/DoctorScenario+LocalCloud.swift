import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed

extension DoctorScenario {
    /// The end-to-end `kumo doctor -o json` on a real local cloud (the release `kumo server` and 3 `kumo agent`s in
    /// network-namespace hosts, a service over 6 replicas): the CLI process, TLS, a fresh evaluation of every check
    /// over the store's objects and every node's health report, the ranking and the answer. The anchor, measured in
    /// the same run, is `kumo get nodes -o json`: the same CLI start and TLS handshake around one plain list.
    static func localCloud(_ r: inout BenchResult, runs: Int) async throws {
        r.target("doctor_e2e_max_ms", 5000, higherIsBetter: false)
        guard LocalCloud.available else {
            r.notes.append("FAILED: the end-to-end phase needs root, runc and busybox-static (or pass --simulated-only)")
            return
        }
        let cloud = LocalCloud(agents: 3)
        let figures = try await tearingDown(cloud) { () async throws -> (Samples, Samples, Int, String) in
            _ = try await ServiceBench.setUp(cloud, replicas: 6)
            // every node has measured and reported what only it sees (dnsmasq, HAProxy, peers)
            try await eventually("every node reports its health", timeout: .seconds(60)) {
                for i in 1...3 {
                    let h = try await cloud.admin.send(.GET, APIPaths.nodeHealth(cloud.nodeName(i))).json()
                    guard h["dnsmasq"]?["answering"] == true, h["haproxy"]?["answering"] == true else { return false }
                }
                return true
            }
            var doctor = Samples()
            var anchor = Samples()
            var answered = 0
            var status = ""
            for _ in 0..<runs {
                let t = ContinuousClock.now
                let out = try cloud.kumo(["doctor", "-o", "json"])
                doctor.add(ms(ContinuousClock.now - t))
                // the work was done: one JSON report with a status and the checks it evaluated
                if let report = try? JSONValue(parsing: Array(out.utf8)), let s = report["status"]?.stringValue, report["checks"]?.arrayValue != nil {
                    answered += 1
                    status = s
                }
                let a = ContinuousClock.now
                _ = try cloud.kumo(["get", "nodes", "-o", "json"])
                anchor.add(ms(ContinuousClock.now - a))
            }
            return (doctor, anchor, answered, status)
        }
        let (doctor, anchor, answered, status) = figures
        r.add("doctor_e2e_p50_ms", doctor.percentile(50))
        r.add("doctor_e2e_max_ms", doctor.percentile(100))
        r.add("get_nodes_e2e_p50_ms", anchor.percentile(50))
        r.add("doctor_e2e_answered", Double(answered))
        r.target("doctor_e2e_answered", Double(runs), higherIsBetter: true)
        if answered < runs { r.notes.append("FAILED: \(runs - answered) of \(runs) `kumo doctor -o json` runs gave no report") }
        if status != "ok" { r.notes.append("the local cloud's last report was \(status), not ok: look at `kumo doctor` on it") }
        r.notes.append("end to end: `kumo doctor -o json` (fresh evaluation) × \(runs) on a local cloud of 3 agents and 6 replicas behind a service; anchor `kumo get nodes -o json`")
    }
}
