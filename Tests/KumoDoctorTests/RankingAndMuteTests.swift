import Foundation
import KumoDoctor
import KumoModel
import Testing

@Suite("doctor: cause ranking, mutes, transitions, runbooks")
struct RankingAndMuteTests {
    func f(_ code: String, _ component: Component, node: String? = nil, object: ObjectReference? = nil, severity: Severity = .error, since: Int64 = 0) -> Finding {
        Finding(code: code, severity: severity, component: component, node: node, object: object, summary: code, since: Fixture.now - .seconds(since))
    }

    @Test("a node-scoped cause explains symptoms on its node only; a cluster-wide one explains them everywhere")
    func scope() {
        var s1 = f("SERVICE_NO_ENDPOINTS", .haproxy, object: ObjectReference(kind: "Service", name: "a", project: "p"))
        s1.nodes = ["node-2"]
        var s2 = f("SERVICE_NO_ENDPOINTS", .haproxy, object: ObjectReference(kind: "Service", name: "b", project: "p"))
        s2.nodes = ["node-3"]
        let agent = f("HAPROXY_RELOAD_FAILED", .agent, node: "node-2")
        let store = f("STORE_COMMITS_SLOW", .store, severity: .warn)
        let r = CauseRanking([s1, s2, agent, store])
        #expect(r.explains[2].map(\.index) == [0])
        #expect(Set(r.explains[3].map(\.index)) == [0, 1])
        #expect(Set(r.roots) == [2, 3])
        #expect(r.causes(of: 0).first == 2, "the same-node cause ranks above the cluster-wide one")
    }

    @Test("an info finding explains nothing, and mutual object links do not make a cycle without a root")
    func infoAndCycles() {
        var a = f("A", .spec, object: .node("x"))
        var b = f("B", .spec, object: .node("y"))
        a.affects = [.node("y")]
        b.affects = [.node("x")]
        var info = f("VM_NO_KVM", .host, node: "x", object: .node("z"), severity: .info)
        info.affects = [.node("x")]
        let r = CauseRanking([a, b, info])
        #expect(r.roots.count == 2 && r.roots.contains(2))
        #expect(r.explains[2].isEmpty)
    }

    @Test("a mute hides a code from the status; it lapses when the count grows, unless sticky; and when it expires")
    func mutes() {
        var findings = [f("DHCP_UNKNOWN_CLIENT", .host, node: "node-2", severity: .warn)]
        findings[0].count = 10
        let mute = HealthMute(code: "DHCP_UNKNOWN_CLIENT", until: nil, sticky: false, count: 10, createdAt: Fixture.ago(5))
        var same = findings
        #expect(HealthMutes.apply([mute], to: &same, now: Fixture.now).lapsed.isEmpty)
        #expect(same[0].muted == true)
        #expect(Doctor.report(same, evaluatedAt: Fixture.now).status == .ok)
        var grown = findings
        grown[0].count = 11
        #expect(HealthMutes.apply([mute], to: &grown, now: Fixture.now).lapsed == [mute])
        #expect(grown[0].muted == nil)
        var sticky = mute
        sticky.sticky = true
        sticky.until = (Fixture.now + .seconds(60)).rfc3339
        var g2 = grown
        #expect(HealthMutes.apply([sticky], to: &g2, now: Fixture.now).active == [sticky])
        #expect(HealthMutes.apply([sticky], to: &g2, now: Fixture.now + .seconds(61)).lapsed == [sticky])
        var cleared: [Finding] = []
        #expect(HealthMutes.apply([mute], to: &cleared, now: Fixture.now).lapsed == [mute])
    }

    @Test("transitions: a new finding failed, a gone one cleared, a still failing one neither")
    func transitions() {
        let a = f("A", .store), b = f("B", .agent, node: "n")
        let (failed, cleared) = HealthTransitions.diff(previous: [a], current: [a, b])
        #expect(failed.map(\.code) == ["B"] && cleared.isEmpty)
        #expect(HealthTransitions.diff(previous: [a, b], current: [b]).cleared.map(\.code) == ["A"])
    }

    @Test("bad input: an unknown code, kind or target gets an error naming the valid ones")
    func badInput() throws {
        #expect(throws: KumoError.self) { try Doctor.definition("NOPE") }
        do { _ = try Doctor.definition("NOPE") } catch { #expect(error.message.contains("AGENT_DOWN") && error.field == "code") }
        do { _ = try Doctor.target("pod/x", project: "p") } catch { #expect(error.message.contains("service") && error.field == "target") }
        do { _ = try Doctor.target("service", project: "p") } catch { #expect(error.message.contains("KIND/NAME")) }
        #expect((try? Doctor.target("svc/x", project: "p")) == nil)
        #expect(try Doctor.target("service/web", project: "p") == ObjectReference(kind: "Service", name: "web", project: "p"))
        #expect(try Doctor.target("node/node-2", project: "p") == .node("node-2"))
    }

    @Test("figures no agent would send (a window of -1e300 s, an infinite p99) trap no check; the server refuses such reports")
    func absurdFigures() {
        var fx = Fixture()
        #expect(fx.s.reports.values.allSatisfy { $0.validationErrors().isEmpty }, "healthy reports are valid")
        fx.s.reports["node-1"]!.dhcp = DHCPFacts(
            hosts: 0, leases: 0, refusals: [DHCPRefusal(mac: "02:00:00:00:00:99", kind: "DHCPNAK", count: 50, lastLine: "DHCPNAK(kumo0) 10.244.1.9 02:00:00:00:00:99 wrong address")],
            windowSeconds: -1e300)
        fx.s.server.commitP99Ms = .infinity
        let report = fx.report()
        #expect(report.checks.contains { $0.code == "DHCP_UNKNOWN_CLIENT" && $0.summary.contains("50 refusal(s)") })
        #expect(report.checks.contains { $0.code == "STORE_COMMITS_SLOW" && $0.count == Int.max && $0.summary.contains("p99 inf ms") })
        #expect(fx.s.reports["node-1"]!.validationErrors().map(\.field) == ["dhcp.windowSeconds"])
    }

    @Test("every component of the vocabulary has a profile, and the graph has no cycle")
    func graph() {
        let g = ComponentGraph.kumo
        for c in Component.allCases {
            #expect(g.profiles[c] != nil, "\(c) has no profile")
            #expect(!g.upstream(of: c).contains(c), "\(c) depends on itself")
        }
        #expect(g.isUpstream(.store, of: .haproxy) && g.isUpstream(.underlay, of: .overlay) && !g.isUpstream(.spec, of: .agent))
    }

    @Test("docs/runbooks.md is every code's runbook (KUMO_UPDATE_RUNBOOKS=1 rewrites it)")
    func runbooksDoc() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/runbooks.md").standardized.path
        let text = Doctor.runbooksMarkdown()
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_RUNBOOKS"] == "1" { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == text, "docs/runbooks.md is stale")
        for d in Doctor.definitions { #expect(text.contains("### \(d.code)\n")) }
    }
}
