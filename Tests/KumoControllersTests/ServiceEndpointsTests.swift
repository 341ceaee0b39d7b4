import KumoControllers
import KumoModel
import Testing

/// The endpoints core and the autoscaler core as values.
@Suite struct ServiceEndpointsTests {
    static func replica(
        _ name: String, app: String = "web", project: String = "demo", ready: Bool = true, phase: ReplicaPhase = .running,
        node: String? = "n1", ip: String? = "10.244.1.5", deleting: Bool = false
    ) -> Replica {
        var meta = ObjectMeta(name: name, project: project, labels: ["app": app, "tier": "front"])
        if deleting { meta.deletionTimestamp = "2026-01-01T00:00:00Z" }
        var status = ReplicaStatus(phase: phase, ready: ready)
        status.ip = ip
        return Replica(
            metadata: meta,
            spec: ReplicaSpec(image: "busybox:latest", nodeName: node, network: ip.map { NetworkAttachment(ip: $0, mac: "02:00:00:00:00:01") }),
            status: status)
    }

    static func service(selector: [String: String] = ["app": "web"], status: ServiceStatus? = nil) -> Service {
        Service(
            metadata: ObjectMeta(name: "web", project: "demo"),
            spec: ServiceSpec(selector: selector, ports: [ServicePort(port: 80, targetPort: 8080, protocol: .http)], clusterIP: "10.96.0.2"),
            status: status)
    }

    @Test func selectsServingReplicasOnly() throws {
        let replicas = [
            Self.replica("web-b", node: "n2", ip: "10.244.2.7"), Self.replica("web-a"),
            Self.replica("web-notready", ready: false), Self.replica("web-pending", phase: .pending, node: nil, ip: nil),
            Self.replica("web-stopping", deleting: true), Self.replica("api-1", app: "api"),
            Self.replica("web-elsewhere", project: "other"),
        ]
        let core = ServiceEndpoints(service: Self.service(), replicas: replicas)
        #expect(core.endpoints.map(\.replica) == ["web-a", "web-b"], "sorted, serving, selected, same project")
        #expect(core.endpoints[1] == Endpoint(ip: "10.244.2.7", port: 8080, replica: "web-b", node: "n2", ready: true))
        let status = try #require(core.desiredStatus())
        #expect(status.generation == 1)
        #expect(status.reason == "Ready")
        #expect(status.message == "2 ready endpoint(s) on 2 node(s)")

        // unchanged → no write; changed → generation + 1
        let stored = Self.service(status: status)
        #expect(ServiceEndpoints(service: stored, replicas: replicas).desiredStatus() == nil)
        let fewer = ServiceEndpoints(service: stored, replicas: [Self.replica("web-a")]).desiredStatus()
        #expect(fewer?.generation == 2)
        #expect(fewer?.endpoints?.count == 1)
    }

    @Test func noEndpointsSaysWhy() throws {
        let none = try #require(ServiceEndpoints(service: Self.service(selector: ["app": "nothing"]), replicas: [Self.replica("web-a")]).desiredStatus())
        #expect(none.reason == "NoEndpoints")
        #expect(none.message == "no replica matches selector app=nothing: the VIP answers 503")
        #expect(none.endpoints == [])
        let notReady = try #require(ServiceEndpoints(service: Self.service(), replicas: [Self.replica("web-a", ready: false)]).desiredStatus())
        #expect(notReady.message?.contains("1 replica(s) match selector app=web but none is Ready") == true)
        #expect(ServiceEndpoints.selects(["app": "web", "tier": "front"], ["app": "web", "tier": "front", "x": "y"]))
        #expect(!ServiceEndpoints.selects(["app": "web", "tier": "back"], ["app": "web", "tier": "front"]))
        #expect(!ServiceEndpoints.selects([:], ["app": "web"]), "an empty selector selects nothing")
    }

    static let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    func decide(_ spec: Autoscale, current: Int, ready: Int? = nil, rps: Double = 0, queue: Int = 0, ms: Double = 0, history: [AutoscaleDecision.Recommendation] = [], at: Timestamp = t0) -> AutoscaleDecision {
        AutoscaleDecision.decide(
            spec: spec, current: current, ready: ready ?? current,
            load: ServiceLoad(requestsPerSecond: rps, queue: queue, avgResponseMs: ms, nodes: 3), history: history, now: at)
    }

    @Test func autoscaleScalesOutAtOnceAndInAfterTheWindow() {
        let spec = Autoscale(min: 1, max: 5, target: 10, windowSeconds: 30)
        let out = decide(spec, current: 2, rps: 60)
        #expect(out.value == 30)
        #expect(out.desired == 5, "ceil(2 × 30/10) = 6, clamped to max 5")
        #expect(out.message.hasPrefix("scaled out 2 → 5: 30.0 req/s per replica (60.0 req/s over 2 ready, 3 node(s)), target 10"))
        #expect(decide(spec, current: 3, rps: 31.5).desired == 3, "within the 10% tolerance")

        // load gone: the recommendation is 1, but the window still remembers 5
        let history = [AutoscaleDecision.Recommendation(at: Self.t0 - .seconds(10), replicas: 5)]
        let held = decide(spec, current: 5, rps: 0, history: history)
        #expect(held.recommended == 1)
        #expect(held.desired == 5)
        #expect(held.message.hasPrefix("holding 5 (recommended 1 within the 30 s window)"))
        let later = decide(spec, current: 5, rps: 0, history: history, at: Self.t0 + .seconds(25))
        #expect(later.desired == 1, "the 5 is older than the window now")
        #expect(later.message.hasPrefix("scaled in 5 → 1"))
    }

    @Test func autoscaleOnQueueAndResponseTime() {
        let queue = Autoscale(min: 2, max: 10, metric: .queue, target: 5)
        #expect(decide(queue, current: 2, queue: 40).desired == 8, "20 queued per replica vs 5 → ×4")
        let slow = Autoscale(min: 1, max: 4, metric: .responseTimeMs, target: 100)
        #expect(decide(slow, current: 2, ms: 250).desired == 4, "ceil(2 × 2.5) = 5 → max 4")
        #expect(decide(slow, current: 0, ms: 0).desired == 1, "below min → min")
    }
}
