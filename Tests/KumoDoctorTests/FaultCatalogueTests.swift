import KumoDoctor
import KumoModel
import Testing

/// Each fault of the catalogue on a recorded cloud: the doctor ranks the right component (and node) first.
@Suite("doctor: the fault catalogue, pure")
struct FaultCatalogueTests {
    func healthy() -> Fixture {
        var f = Fixture()
        f.workload("web", replicas: 3)
        f.service("web", selector: "web")
        return f
    }

    func first(_ f: Fixture, target: ObjectReference? = nil) -> Finding? { f.report(target: target).causes.first }

    @Test("a healthy cloud: no finding, status ok") func healthyCloud() throws {
        let r = healthy().report()
        #expect(r.checks.isEmpty, "\(r.checks.map(\.label))")
        #expect(r.status == .ok)
        try Fixture.expectGolden(r, "healthy")
    }

    @Test("agent dead, node answers on the underlay: AGENT_DOWN on that node, explaining its workload's shortfall")
    func agentDown() throws {
        var f = healthy()
        f.silence("node-2", seconds: 40)
        f.mutate(\.workloads, "web") { $0.status?.readyReplicas = 2 }
        f.mutate(\.replicas, "web-abc-1") { $0.status?.ready = false }
        let r = f.report()
        let c = try #require(r.causes.first)
        #expect(c.code == "AGENT_DOWN" && c.component == .agent && c.node == "node-2")
        #expect(c.explains?.contains("WORKLOAD_DEGRADED workload/web") == true, "\(c.explains ?? [])")
        #expect(c.evidence.contains { $0.source.contains("node-1 underlay probe of node-2") && $0.observed.hasPrefix("answered") })
        #expect(r.status == .error)
        try Fixture.expectGolden(r, "agent-down")
    }

    @Test("no heartbeat and no peer reaches it: NODE_UNREACHABLE, component underlay")
    func unreachable() throws {
        var f = healthy()
        f.silence("node-2", seconds: 40)
        for peer in ["node-1", "node-3"] {
            f.s.reports[peer]!.peers = f.s.reports[peer]!.peers!.map { p in
                var p = p
                if p.node == "node-2" { p.reachable = false; p.error = "100% packet loss" }
                return p
            }
        }
        let c = try #require(first(f))
        #expect(c.code == "NODE_UNREACHABLE" && c.component == .underlay && c.node == "node-2")
    }

    @Test("overlay data removed by another writer: the writer's component, named from history")
    func overlayRemoved() throws {
        var f = healthy()
        f.mutate(\.nodes, "node-2") { $0.status?.overlay = nil }
        f.s.changes = [
            ChangeRecord(object: .node("node-2"), time: Fixture.ago(120), manager: "node/node-2", operation: "patch", changes: ["add /status/overlay"]),
            ChangeRecord(object: .node("node-2"), time: Fixture.ago(30), manager: "admin/sync-tool", operation: "update", changes: ["remove /status/overlay"], forced: true),
        ]
        let c = try #require(first(f))
        #expect(c.code == "OVERLAY_DATA_MISSING" && c.component == .operator && c.node == "node-2")
        #expect(c.summary.contains("admin/sync-tool"))
        #expect(c.evidence.contains { $0.observed.contains("remove /status/overlay") })
        try Fixture.expectGolden(f.report(), "overlay-removed")
    }

    @Test("overlay data removed by the scheduler (a component): that component is responsible")
    func overlayRemovedByComponent() throws {
        var f = healthy()
        f.mutate(\.nodes, "node-2") { $0.status?.overlay = nil }
        f.s.changes = [ChangeRecord(object: .node("node-2"), time: Fixture.ago(30), manager: "scheduler", operation: "update", changes: ["remove /status/overlay"])]
        #expect(first(f)?.component == .scheduler)
    }

    @Test("an incident the agent repaired stays a warning for an hour, naming the writer; then it is gone")
    func overlayRepaired() throws {
        var f = healthy()
        f.event("OverlayDataRestored", about: "Node", "node-2", secondsAgo: 600, message: "status.overlay of node node-2 was removed")
        f.s.changes = [ChangeRecord(object: .node("node-2"), time: Fixture.ago(610), manager: "admin", operation: "patch", changes: ["remove /status/overlay"])]
        let r = f.report()
        let c = try #require(r.causes.first)
        #expect(c.code == "OVERLAY_DATA_REPAIRED" && c.severity == .warn && c.component == .operator && c.summary.contains("admin"))
        #expect(r.status == .warn)
        var later = f
        later.s.now = Fixture.now + .seconds(3600)
        later.s.leases = later.s.leases.mapValues { $0 + .seconds(3600) }
        for k in later.s.reports.keys { later.s.reports[k]!.receivedAt = (Fixture.now + .seconds(3599)).rfc3339; later.s.reports[k]!.time = later.s.reports[k]!.receivedAt! }
        #expect(!Doctor.evaluate(later.s).contains { $0.code == "OVERLAY_DATA_REPAIRED" })
    }

    @Test("dnsmasq stopped on one node: DNSMASQ_DOWN there, told apart from a dead process")
    func dnsmasqDown() throws {
        var f = healthy()
        f.s.reports["node-2"]!.dnsmasq = DaemonHealth(running: true, pid: 4711, answering: false, error: "no answer to a DNS query in 1 s")
        let c = try #require(first(f))
        #expect(c.code == "DNSMASQ_DOWN" && c.component == .dnsmasq && c.node == "node-2")
        #expect(c.summary.contains("stopped or hung"))
    }

    @Test("HAProxy down, and a port held by another program, are told apart")
    func haproxy() throws {
        var f = healthy()
        f.s.reports["node-2"]!.haproxy = DaemonHealth(running: false, answering: false, error: "connection refused")
        #expect(first(f).map { ($0.code, $0.component, $0.node) } ?? ("", .spec, nil) == ("HAPROXY_DOWN", .haproxy, "node-2"))
        var g = healthy()
        g.s.reports["node-3"]!.haproxy!.portsHeld = ["8080": "pid 812 (nc)"]
        g.s.reports["node-3"]!.haproxy!.lastReloadError = "cannot bind socket (Address already in use) [0.0.0.0:8080]"
        let c = try #require(first(g))
        #expect(c.code == "LB_PORT_HELD" && c.component == .host && c.node == "node-3" && c.summary.contains("8080"))
    }

    @Test("a service with no endpoints, each reason told apart: selector, replicas not ready, health check")
    func serviceReasons() throws {
        var a = healthy()
        a.service("api", selector: "nothing-has-this")
        let ca = try #require(first(a, target: ObjectReference(kind: "Service", name: "api", project: "demo")))
        #expect(ca.code == "SERVICE_SELECTOR_MATCHES_NOTHING" && ca.component == .spec)

        var b = Fixture()
        b.workload("web", replicas: 2, ready: false)
        b.service("web", selector: "web")
        for r in ["web-abc-0", "web-abc-1"] {
            b.mutate(\.replicas, r) { $0.status?.phase = .starting; $0.status?.restartCount = 6; $0.status?.exitCode = 1; $0.status?.reason = "BackOff" }
        }
        b.s.reports["node-1"]!.lastLogLines = ["demo/web-abc-0": "fatal: config file /etc/web.conf not found"]
        let rb = b.report(target: ObjectReference(kind: "Service", name: "web", project: "demo"))
        let cb = try #require(rb.causes.first)
        #expect(cb.code == "CRASH_LOOP" && cb.component == .spec, "\(rb.causes.map(\.label))")
        #expect(cb.summary.contains("exit code 1") && cb.summary.contains("config file /etc/web.conf not found"))
        #expect(cb.explains?.contains("SERVICE_NO_ENDPOINTS service/web") == true)
        try Fixture.expectGolden(rb, "service-crash-loop")

        // replicas run but their readiness probe fails: named after 15 s with the probe's own words, not after 60
        var d = Fixture()
        d.workload("api", replicas: 2, ready: false)
        d.service("api", selector: "api")
        for r in ["api-abc-0", "api-abc-1"] {
            d.mutate(\.replicas, r) {
                $0.status?.startedAt = Fixture.ago(20)
                $0.status?.reason = "NotReady"
                $0.status?.message = "readiness probe: GET http://10.244.1.10:9999/: connection refused"
            }
        }
        let rd = d.report(target: ObjectReference(kind: "Service", name: "api", project: "demo"))
        let cd = try #require(rd.causes.first)
        #expect(cd.code == "REPLICA_NOT_READY" && cd.component == .spec && cd.summary.contains("connection refused"), "\(rd.causes.map(\.label))")
        #expect(cd.evidence.first?.observed.hasPrefix("NotReady: readiness probe") == true)
        // without the agent's reason, a replica only 20 s up is given the full minute
        d.mutate(\.replicas, "api-abc-0") { $0.status?.reason = nil; $0.status?.message = nil }
        #expect(!d.report().checks.contains { $0.code == "REPLICA_NOT_READY" && $0.object?.name == "api-abc-0" })

        var c = healthy()
        for n in c.s.reports.keys { c.s.reports[n]!.loadBalancer = [BackendHealth(service: "demo/web", serversUp: 0, serversTotal: 3, checkStatus: "L7STS")] }
        let cc = try #require(first(c))
        #expect(cc.code == "SERVICE_HEALTH_CHECK_FAILING" && cc.component == .spec)
    }

    @Test("replicas Pending, each reason: no capacity, every node cordoned, subnet exhausted, secret missing")
    func pendingReasons() throws {
        func pending(_ f: inout Fixture, message: String?, reason: String? = "Unschedulable", cpu: String? = nil) {
            f.workload("big", replicas: 1)
            f.mutate(\.replicas, "big-abc-0") {
                $0.spec.nodeName = nil
                $0.spec.network = nil
                $0.status = ReplicaStatus(phase: .pending, reason: reason, message: message)
                if let cpu { $0.spec.resources = Resources(cpu: try! CPUQuantity(parsing: cpu)) }
            }
        }
        var a = healthy()
        pending(&a, message: "0/3 nodes available: 3 insufficient cpu", cpu: "2")
        let ca = try #require(first(a))
        #expect(ca.code == "INSUFFICIENT_CAPACITY" && ca.component == .operator && ca.node == nil)
        #expect(ca.explains?.contains { $0.hasPrefix("REPLICAS_PENDING") } == true)

        var big = healthy()
        pending(&big, message: "0/3 nodes available: 3 insufficient cpu", cpu: "64")
        #expect(first(big)?.code == "REQUEST_EXCEEDS_NODES")

        var b = healthy()
        for n in ["node-1", "node-2", "node-3"] { b.mutate(\.nodes, n) { $0.spec.unschedulable = true } }
        pending(&b, message: "0/3 nodes available: 3 cordoned")
        let cb = try #require(first(b))
        #expect(cb.code == "NODES_CORDONED" && cb.component == .operator && cb.node == nil && cb.severity == .error)

        var c = Fixture(nodes: 1)
        c.mutate(\.nodes, "node-1") { $0.spec.podCIDR = "10.244.1.0/29" }  // 5 assignable addresses
        c.workload("web", replicas: 5)
        pending(&c, message: nil, reason: nil)
        let cc = try #require(first(c))
        #expect(cc.code == "SUBNET_EXHAUSTED" && cc.component == .ipam && cc.node == "node-1", "\(c.report().causes.map(\.label))")

        var d = healthy()
        d.mutate(\.replicas, "web-abc-0") { $0.spec.env = [EnvVar(name: "PASSWORD", secretRef: SecretKeyRef(name: "db", key: "password"))] }
        let cd = try #require(first(d))
        #expect(cd.code == "SECRET_MISSING" && cd.component == .spec && cd.object?.name == "db")
    }

    @Test("an image never pushed is the spec's fault; one that fails to verify is the image service's")
    func images() throws {
        var a = healthy()
        a.mutate(\.replicas, "web-abc-0") { $0.spec.image = "web:2"; $0.status = ReplicaStatus(phase: .pending, reason: "ImagePullFailed", message: "image web has no tag 2") }
        let ca = try #require(first(a))
        #expect(ca.code == "IMAGE_NOT_FOUND" && ca.component == .spec && ca.summary.contains("no tag 2"))
        var b = healthy()
        b.mutate(\.replicas, "web-abc-1") { $0.status = ReplicaStatus(phase: .pending, reason: "ImagePullFailed", message: "blob sha256:bbbb digest mismatch") }
        let cb = try #require(first(b))
        #expect(cb.code == "IMAGE_PULL_FAILED" && cb.component == .images && cb.node == "node-2")
    }

    @Test("a DHCP client Kumo does not know: counted by MAC, NAKs and 'no address available' both")
    func unknownDHCPClient() throws {
        var f = healthy()
        f.s.reports["node-2"]!.dhcp!.refusals = [
            DHCPRefusal(mac: "52:54:00:aa:bb:cc", kind: "DHCPNAK", reason: "wrong address", count: 700, lastLine: "dnsmasq-dhcp[9]: 1 DHCPNAK(kumo0) 10.9.9.9 52:54:00:aa:bb:cc wrong address"),
            DHCPRefusal(mac: "52:54:00:aa:bb:cc", kind: "no address available", count: 300, lastLine: "dnsmasq-dhcp[9]: 2 DHCPDISCOVER(kumo0) 52:54:00:aa:bb:cc no address available"),
        ]
        let c = try #require(first(f))
        #expect(c.code == "DHCP_UNKNOWN_CLIENT" && c.component == .host && c.node == "node-2")
        #expect(c.count == 1000 && c.summary.contains("52:54:00:aa:bb:cc"))
    }

    @Test("slow store commits and stalled watch streams: the store, then the API server")
    func controlPlane() throws {
        var f = healthy()
        f.s.server.commitP99Ms = 900
        let c = try #require(first(f))
        #expect(c.code == "STORE_COMMITS_SLOW" && c.component == .store && c.node == nil)
        var g = healthy()
        g.s.server.watchers = [WatcherLag(watcher: "stream 7", resource: "/registry/replicas/", behindRevisions: 500, queued: 500, stalledSeconds: 30)]
        #expect(first(g)?.code == "WATCH_STREAM_LAGGING" && first(g)?.component == .apiServer)
    }

    @Test("a certificate close to expiry, and a standing TCG fact that is info only")
    func pkiAndHost() throws {
        var f = healthy()
        f.s.reports["node-3"]!.certificateNotAfter = (Fixture.now + .seconds(86400)).rfc3339
        let c = try #require(first(f))
        #expect(c.code == "CERTIFICATE_EXPIRING" && c.component == .pki && c.node == "node-3" && c.severity == .error)
        var g = healthy()
        g.s.reports["node-1"]!.host = HostFacts(kvm: false, kvmReason: "/dev/kvm: no such file")
        let r = g.report()
        #expect(r.status == .ok && r.causes.isEmpty && r.checks.map(\.code) == ["VM_NO_KVM"])
    }

    @Test("a project token sees its project's findings; node-level evidence is summarized")
    func projectScope() throws {
        var f = healthy()
        f.workload("other", replicas: 1, project: "team-b")
        f.service("other", selector: "nope", project: "team-b")
        f.silence("node-2", seconds: 40)
        let r = f.report(project: "demo")
        #expect(!r.checks.contains { $0.project == "team-b" })
        let agent = try #require(r.checks.first { $0.code == "AGENT_DOWN" })
        #expect(agent.evidence.count == 1 && agent.evidence[0].source == "summarized")
        let b = f.report(project: "team-b")
        #expect(b.checks.contains { $0.code == "SERVICE_SELECTOR_MATCHES_NOTHING" })
    }
}
