import KumoModel
import Testing

@testable import KumoAgent

@Suite struct RestartDecisionTests {
    let backoff = RestartDecision.Backoff(base: .seconds(1), cap: .seconds(30), reset: .seconds(60))

    @Test func alwaysRestartsEvenAfterSuccess() {
        let d = RestartDecision.decide(policy: .always, exitCode: 0, ranFor: .seconds(1), consecutiveFailures: 0, backoff: backoff)
        #expect(d.outcome == .restart(after: .seconds(1)))
        #expect(d.consecutiveFailures == 1)
    }

    @Test func onFailureRestartsOnlyFailures() {
        let ok = RestartDecision.decide(policy: .onFailure, exitCode: 0, ranFor: .seconds(1), consecutiveFailures: 2, backoff: backoff)
        #expect(ok.outcome == .finished(.succeeded))
        let failed = RestartDecision.decide(policy: .onFailure, exitCode: 7, ranFor: .seconds(1), consecutiveFailures: 0, backoff: backoff)
        #expect(failed.outcome == .restart(after: .seconds(1)))
        let unknown = RestartDecision.decide(policy: .onFailure, exitCode: nil, ranFor: .seconds(1), consecutiveFailures: 0, backoff: backoff)
        #expect(unknown.outcome == .restart(after: .seconds(1)), "an exit nobody saw counts as a failure")
    }

    @Test func neverLeavesItFinished() {
        #expect(
            RestartDecision.decide(policy: .never, exitCode: 0, ranFor: .zero, consecutiveFailures: 0, backoff: backoff).outcome
                == .finished(.succeeded))
        #expect(
            RestartDecision.decide(policy: .never, exitCode: 137, ranFor: .zero, consecutiveFailures: 0, backoff: backoff).outcome
                == .finished(.failed))
    }

    @Test func backoffDoublesUpToTheCapAndResetsAfterAHealthyRun() {
        var failures = 0
        var delays: [Duration] = []
        for _ in 0..<8 {
            let d = RestartDecision.decide(policy: .always, exitCode: 1, ranFor: .seconds(2), consecutiveFailures: failures, backoff: backoff)
            guard case .restart(let after) = d.outcome else { Issue.record("expected a restart"); return }
            delays.append(after)
            failures = d.consecutiveFailures
        }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30), .seconds(30)])
        let afterHealthyRun = RestartDecision.decide(
            policy: .always, exitCode: 1, ranFor: .seconds(61), consecutiveFailures: failures, backoff: backoff)
        #expect(afterHealthyRun.outcome == .restart(after: .seconds(1)))
        #expect(afterHealthyRun.consecutiveFailures == 1)
    }
}

@Suite struct ContainerPlanningTests {
    let image = RunnableImage(
        reference: "busybox:latest", manifestDigest: "sha256:" + String(repeating: "a", count: 64), rootfs: "/images/a",
        entrypoint: ["/bin/entry"], cmd: ["serve"], env: ["PATH=/bin", "MODE=image"], workingDir: "/srv")
    let subnet = IPv4Network("10.244.1.0/24")!

    func replica(_ spec: ReplicaSpec) -> Replica {
        var meta = ObjectMeta(name: "web-1", project: "demo")
        meta.uid = "0b5a3c1e-uid"
        return Replica(metadata: meta, spec: spec)
    }

    var bound: ReplicaSpec {
        var s = ReplicaSpec(image: "busybox:latest")
        s.nodeName = "node-1"
        s.network = NetworkAttachment(ip: "10.244.1.7", mac: "02:6b:0a:f4:01:07")
        return s
    }

    @Test func imageDefaultsApplyWithoutCommandOrArgs() throws {
        let plan = try ContainerPlanning.plan(replica(bound), image: image, uid: "u1", subnet: subnet, namer: SandboxNamer())
        #expect(plan.args == ["/bin/entry", "serve"])
        #expect(plan.cwd == "/srv")
        #expect(plan.env.contains("PATH=/bin"), "the image's PATH replaces the default one")
        #expect(plan.env.contains("MODE=image"))
        #expect(plan.gateway.description == "10.244.1.1")
        #expect(plan.hostVeth.count <= 15 && plan.hostVeth.hasPrefix("kv"))
        // service names: the node's dnsmasq on the gateway, short names inside the project
        #expect(plan.dnsSearch == ["demo.kumo", "kumo"])
        #expect(plan.resolvConf.contains("nameserver 10.244.1.1\nsearch demo.kumo kumo\n"))
    }

    @Test func commandReplacesEntrypointAndArgsReplaceCmd() throws {
        var s = bound
        s.args = ["--port", "80"]
        #expect(try ContainerPlanning.plan(replica(s), image: image, uid: "u", subnet: subnet, namer: SandboxNamer()).args == ["/bin/entry", "--port", "80"])
        s.command = ["httpd", "-f"]
        s.args = nil
        #expect(try ContainerPlanning.plan(replica(s), image: image, uid: "u", subnet: subnet, namer: SandboxNamer()).args == ["httpd", "-f"])
        s.env = [EnvVar(name: "MODE", value: "replica")]
        let env = try ContainerPlanning.plan(replica(s), image: image, uid: "u", subnet: subnet, namer: SandboxNamer()).env
        #expect(env.filter { $0.hasPrefix("MODE=") } == ["MODE=replica"])
    }

    @Test func unboundOrForeignAddressesAreRefused() {
        var s = bound
        s.network = NetworkAttachment(ip: "10.244.2.7", mac: "02:6b:0a:f4:02:07")
        #expect(throws: KumoError.self) { try ContainerPlanning.plan(replica(s), image: image, uid: "u", subnet: subnet, namer: SandboxNamer()) }
        s.network = nil
        #expect(throws: KumoError.self) { try ContainerPlanning.plan(replica(s), image: image, uid: "u", subnet: subnet, namer: SandboxNamer()) }
    }

    @Test func namesAreSafeWhateverTheUid() {
        let namer = SandboxNamer()
        for uid in ["$(reboot)", "a b;c", String(repeating: "x", count: 300)] {
            let ns = namer.netns(uid), veth = namer.hostVeth(uid)
            #expect(ns.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" })
            #expect(veth.count <= 15 && veth.allSatisfy { $0.isLetter || $0.isNumber })
        }
    }
}
