import Foundation
import KumoAgent
import KumoModel
import KumoSystem
import Logging
import Synchronization
import Testing

/// Real VXLAN between throwaway "hosts" (network namespaces on a throwaway underlay bridge): pods ping across
/// hosts, hand-made drift is found by read + plan and healed by apply, and a batch of 300 peers is timed.
/// Serialized so the timings are not taken while another test of the suite builds namespaces.
@Suite(.serialized, .enabled(if: OverlayFixture.canRun, "needs root, iproute2 (ip, bridge) and ping"))
struct OverlayIntegrationTests {
    @Test func podsReachEachOtherAndDriftHeals() async throws {
        try await OverlayFixture.with { f in
            let a = try await f.addHost("a", index: 1)
            let b = try await f.addHost("b", index: 2)

            // Empty kernels: three missing entries each, applied in one batch pair.
            for (host, other) in [(a, b), (b, a)] {
                let plan = try await f.plan(host, peers: [other.peer])
                #expect(plan.count(.missing) == 3 && plan.repairs.count == 3, "\(plan.repairs)")
                try await host.kernel.apply(plan, hostNetns: host.netns)
                #expect(try await f.plan(host, peers: [other.peer]).isEmpty, "converged after one apply")
            }
            #expect(try await f.ping(from: a, to: b), "pod on A → pod on B")
            #expect(try await f.ping(from: b, to: a), "pod on B → pod on A")
            // MTU 1450 end to end: 1422 + 28 header bytes fits, one more does not.
            #expect(try await f.ping(from: a, to: b, size: 1422))
            #expect(try await !f.ping(from: a, to: b, size: 1423))

            // The FDB entry deleted by hand: traffic is lost silently; the diff sees exactly that one entry.
            try await Command().check([
                "bridge", "-n", a.netns, "fdb", "del", b.peer.vtepMAC, "dev", "kumo.1", "dst", "\(b.underlayIP)", "self",
            ])
            #expect(try await !f.ping(from: a, to: b))
            let fdbPlan = try await f.plan(a, peers: [b.peer])
            #expect(fdbPlan.repairs.map(\.description) == ["missing fdb \(b.peer.vtepMAC) dst \(b.underlayIP)"])
            #expect(fdbPlan.ipBatch.isEmpty)
            try await a.kernel.apply(fdbPlan, hostNetns: a.netns)
            #expect(try await f.ping(from: a, to: b), "healed")

            // A neighbour with a wrong MAC: one wrong entry, replaced.
            try await Command().check([
                "ip", "-n", a.netns, "neigh", "replace", "\(b.podCIDR.address)", "lladdr", "02:de:ad:be:ef:01", "dev",
                "kumo.1", "nud", "permanent",
            ])
            let neighPlan = try await f.plan(a, peers: [b.peer])
            #expect(neighPlan.repairs.map(\.reason) == [.wrong])
            #expect(neighPlan.repairs.first?.kind == .neighbor)
            try await a.kernel.apply(neighPlan, hostNetns: a.netns)
            #expect(try await f.ping(from: a, to: b))

            // A stray route inside the cluster CIDR and one outside it.
            for dst in ["10.244.99.0/24", "10.250.0.0/24"] {
                try await Command().check(["ip", "-n", a.netns, "route", "add", dst, "dev", "kumo.1"])
            }
            let strayPlan = try await f.plan(a, peers: [b.peer])
            #expect(strayPlan.ipBatch == ["route del 10.244.99.0/24 dev kumo.1"])
            try await a.kernel.apply(strayPlan, hostNetns: a.netns)
            let routes = try await a.kernel.read(hostNetns: a.netns).routes.map(\.dst.description)
            #expect(Set(routes) == ["10.244.2.0/24", "10.250.0.0/24"])

            // The device is left alone when nothing drifted.
            let changes = try await a.kernel.ensureDevice(
                mac: a.peer.vtepMAC, localIP: a.underlayIP, underlayDevice: "eth0", mtu: 1450, address: a.podCIDR.address,
                hostNetns: a.netns)
            #expect(changes.isEmpty, "\(changes)")

            // B is gone: A removes its three entries and nothing else.
            if let pod = b.pod {
                try await PodNetwork(logger: f.logger).tearDown(netns: pod.netns, hostVeth: pod.hostVeth, hostNetns: b.netns)
            }
            try await Command().check(["ip", "netns", "del", b.netns])
            let gonePlan = try await f.plan(a, peers: [])
            #expect(gonePlan.count(.extra) == 3 && gonePlan.repairs.count == 3, "\(gonePlan.repairs)")
            try await a.kernel.apply(gonePlan, hostNetns: a.netns)
            let left = try await a.kernel.read(hostNetns: a.netns)
            #expect(left.routes.map(\.dst.description) == ["10.250.0.0/24"])
            #expect(left.neighbors.filter(\.permanent).isEmpty)
            #expect(left.fdb.filter(\.isOverlayRemote).isEmpty)
        }
    }

    @Test func deviceDriftIsRepaired() async throws {
        try await OverlayFixture.with { f in
            let a = try await f.addHost("a", index: 3, withPod: false)
            let k = a.kernel
            let mac = a.peer.vtepMAC
            func ensure(mac: String = mac, mtu: Int = 1450) async throws -> [String] {
                try await k.ensureDevice(
                    mac: mac, localIP: a.underlayIP, underlayDevice: "eth0", mtu: mtu, address: a.podCIDR.address,
                    hostNetns: a.netns)
            }
            var s = try await k.deviceState(hostNetns: a.netns)
            #expect(s.exists && s.up && s.kind == "vxlan" && s.learning == false)
            #expect(s.mac == mac && s.mtu == 1450 && s.vni == 1 && s.port == 4789)
            #expect(s.localIP == a.underlayIP && s.underlayDevice == "eth0" && s.addresses == ["10.244.3.0/32"])
            #expect(try await ensure().isEmpty)

            // Down, another MTU, an extra address: fixed in place. Taking the link down made the kernel flush the
            // routes and neighbours on it (permanent FDB entries survive), so the entry diff has work after it.
            let desired = Set(OverlayDiffTests.peer("peer-x", 7).entries)
            func heal() async throws -> OverlayPlan {
                let p = OverlayDiff.plan(
                    desired: desired, actual: try await k.read(hostNetns: a.netns), device: "kumo.1",
                    clusterCIDR: OverlayFixture.clusterCIDR, localSubnet: a.podCIDR)
                try await k.apply(p, hostNetns: a.netns)
                return p
            }
            #expect(try await heal().count(.missing) == 3)
            for args in [["link", "set", "dev", "kumo.1", "down", "mtu", "1400"], ["address", "add", "10.244.3.7/32", "dev", "kumo.1"]] {
                try await Command().check(["ip", "-n", a.netns] + args)
            }
            #expect(try await ensure() == ["mtu 1400 → 1450", "set up", "address 10.244.3.7/32 removed"])
            let afterDown = try await heal()
            print("OVERLAY link down flushed: \(afterDown.repairs.map(\.description))")
            #expect(try await k.read(hostNetns: a.netns).count == 3)
            #expect(try await heal().isEmpty)

            // Another MAC (a node renamed, or someone's `ip link set address`): re-created, entries gone.
            let changes = try await ensure(mac: "02:00:00:00:aa:01")
            #expect(changes.count == 1 && changes[0].hasPrefix("recreated (mac \(mac) → 02:00:00:00:aa:01"), "\(changes)")
            s = try await k.deviceState(hostNetns: a.netns)
            #expect(s.mac == "02:00:00:00:aa:01" && s.up && s.addresses == ["10.244.3.0/32"])
            #expect(try await k.read(hostNetns: a.netns).count == 0)

            // Someone else's interface under the name is refused; a missing device reads as notFound.
            try await Command().check(["ip", "-n", a.netns, "link", "add", "kumo.2", "type", "bridge"])
            await #expect(throws: KumoError.self) {
                try await OverlayKernel(device: "kumo.2", logger: f.logger).ensureDevice(
                    mac: mac, localIP: a.underlayIP, underlayDevice: "eth0", mtu: 1450, address: a.podCIDR.address,
                    hostNetns: a.netns)
            }
            try await k.removeDevice(hostNetns: a.netns)
            try await k.removeDevice(hostNetns: a.netns)
            #expect(try await k.deviceState(hostNetns: a.netns) == .missing)
            do throws(KumoError) {
                _ = try await k.read(hostNetns: a.netns)
                Issue.record("read of a missing device succeeded")
            } catch {
                #expect(error.code == .notFound)
            }
            #expect(try await ensure() == ["created"])
        }
    }

    @Test func applyErrorNamesTheFailingLine() async throws {
        try await OverlayFixture.with { f in
            let a = try await f.addHost("a", index: 4, withPod: false)
            let plan = OverlayPlan(
                device: "kumo.1",
                repairs: [
                    .init(kind: .route, reason: .extra, entry: "x", line: "route del 10.244.50.0/24 dev kumo.1"),
                    .init(
                        kind: .route, reason: .missing, entry: "y",
                        line: "route replace 10.244.51.0/24 via 10.244.51.0 dev kumo.1 onlink"),
                ])
            do throws(KumoError) {
                try await a.kernel.apply(plan, hostNetns: a.netns)
                Issue.record("apply succeeded")
            } catch {
                #expect(error.message.contains(#"ip -batch line 1 of 2 "route del 10.244.50.0/24 dev kumo.1""#), "\(error)")
            }
        }
    }

    /// 300 synthetic peers (900 entries) on one host: batch apply, read, no-op plan, and removal, timed.
    @Test func batchOfThreeHundredPeers() async throws {
        try await OverlayFixture.with { f in
            let a = try await f.addHost("a", index: 5, withPod: false)
            let cluster = IPv4Network("10.128.0.0/9")!
            // Underlay addresses for the synthetic peers from 198.18.0.0/15 (benchmarking range); nothing is sent.
            let peers = (0..<300).map { i in
                OverlayPeer(
                    node: "synthetic-\(i)",
                    podCIDR: IPv4Network(address: IPv4Address(0x0a80_0000 + UInt32(i + 1) << 8), prefixLength: 24)!,
                    publicIP: IPv4Address(0xc612_0000 + UInt32(i + 1)), vtepMAC: OverlayPeer.vtepMAC(forNode: "synthetic-\(i)"))
            }
            let desired = OverlayDiff.desired(peers: peers)
            let clock = ContinuousClock()
            func plan(_ actual: OverlayKernelState, _ want: Set<OverlayEntry>) -> OverlayPlan {
                OverlayDiff.plan(desired: want, actual: actual, device: "kumo.1", clusterCIDR: cluster, localSubnet: a.podCIDR)
            }

            var state = OverlayKernelState()
            let emptyRead = try await clock.measure { state = try await a.kernel.read(hostNetns: a.netns) }
            var p = OverlayPlan(device: "kumo.1", repairs: [])
            let planTime = clock.measure { p = plan(state, desired) }
            #expect(p.repairs.count == 900)
            let applyTime = try await clock.measure { try await a.kernel.apply(p, hostNetns: a.netns) }
            let readTime = try await clock.measure { state = try await a.kernel.read(hostNetns: a.netns) }
            #expect(state.count == 900)
            var again = p
            let replanTime = clock.measure { again = plan(state, desired) }
            #expect(again.isEmpty, "\(again.repairs.prefix(5))")

            // Drift on 10 peers (FDB entries deleted), found and healed.
            let drift = Array(peers.prefix(10))
            let lines = drift.map { "fdb del \($0.vtepMAC) dev kumo.1 dst \($0.publicIP) self" }
            try await Command().check(["bridge", "-n", a.netns, "-batch", "-"], input: Array((lines.joined(separator: "\n") + "\n").utf8))
            var healTime = Duration.zero
            let healAll = try await clock.measure {
                let heal = plan(try await a.kernel.read(hostNetns: a.netns), desired)
                #expect(heal.repairs.count == 10 && heal.count(.missing, kind: .fdb) == 10)
                healTime = try await clock.measure { try await a.kernel.apply(heal, hostNetns: a.netns) }
            }

            let removal = plan(try await a.kernel.read(hostNetns: a.netns), [])
            #expect(removal.count(.extra) == 900)
            let removeTime = try await clock.measure { try await a.kernel.apply(removal, hostNetns: a.netns) }
            #expect(try await a.kernel.read(hostNetns: a.netns).count == 0)
            print(
                "TIMING overlay-300-peers read-empty=\(ms(emptyRead)) plan-900=\(ms(planTime)) apply-900=\(ms(applyTime))"
                    + " read-900=\(ms(readTime)) replan-noop=\(ms(replanTime)) heal-10-fdb(read+plan+apply)=\(ms(healAll))"
                    + " apply-10=\(ms(healTime)) delete-900=\(ms(removeTime))")
        }
    }

    /// A test that fails half-way still leaves no namespace (and so no link) behind.
    @Test func fixtureCleansUpAfterAFailure() async throws {
        struct Planned: Error {}
        let seen = Mutex<String?>(nil)
        await #expect(throws: Planned.self) {
            try await OverlayFixture.with { f in
                seen.withLock { $0 = f.prefix }
                _ = try await f.addHost("a", index: 6)
                throw Planned()
            }
        }
        let prefix = try #require(seen.withLock { $0 })
        #expect(OverlayFixture.leftovers(prefix: prefix).isEmpty)
    }
}
