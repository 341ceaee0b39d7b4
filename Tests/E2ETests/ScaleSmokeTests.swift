import Foundation
import KumoTestbed
import KumoTestSupport
import Testing

/// The scale run in small: a real `kumo server`, 200 fake agents (SimulatedFleet, each with its own node token over
/// HTTPS), 2,000 replicas. The figures that matter are the benchmark's (`kumo-bench scale`); this checks that the
/// whole path works and that nothing is lost on the way.
@Suite("Scale smoke: 200 simulated nodes and 2,000 replicas through a real server")
struct ScaleSmokeTests {
    @Test("every node Ready, every replica bound and Running, a node change at every agent, a lost node's replicas replaced, a cold start with warm caches")
    func smoke() async throws {
        let dir = tempDir("scale-smoke")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = ScaleRun.Options(nodes: 200, replicas: 2000)
        options.timeout = .seconds(90)
        options.apiRate = 200
        options.apiSeconds = 2
        // a debug build on a loaded 2-core machine: heartbeats may queue for seconds; the benchmark keeps 6 s
        options.graceSeconds = 20
        if ProcessInfo.processInfo.environment["KUMO_SCALE_NO_SERVICES"] != nil { options.watchServices = false }
        let f = try await ScaleRun(options: options, dir: dir).run { print("scale smoke: \($0)") }
        #expect(f.fanoutDelivered == 200, "every agent's node watch saw the change")
        #expect(f.evictionsBeforeLoss == 0, "heartbeats of 200 nodes kept every node Ready")
        #expect(f.nodeLossReplicas > 0 && f.nodeLossReplacedSeconds > 0)
        #expect(f.fleet.reportFailures == 0 && f.fleet.heartbeatFailures == 0, "\(f.fleet)")
        #expect(f.apiFailures == 0 && f.apiWrites == 400)
        // one HTTP/2 connection per agent: a watch per connection would hold 3 descriptors per agent, 600 here
        #expect(f.fleet.http2Watches >= 400, "every node and service watch multiplexed over HTTP/2: \(f.fleet)")
        #expect(f.serverOpenFiles > 190 && f.serverOpenFiles < 350, "the server's descriptors: \(f.serverOpenFiles)")
        #expect(f.coldStarted && f.coldStartSeconds > 0 && f.serverRSSMiB > 0 && f.storeMiB > 0, "\(f.coldStartFailure ?? "")")
    }
}
