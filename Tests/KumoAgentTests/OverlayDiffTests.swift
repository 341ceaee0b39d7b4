import Foundation
import KumoAgent
import KumoModel
import Testing

/// The overlay diff as values: each drift scenario is rendered (desired, kernel state, repairs, both batches) and
/// compared with Golden/overlay-<name>.txt. Regenerate with KUMO_UPDATE_GOLDEN=1 after an intended change and
/// review the diff. Kernel states are written as the JSON `ip -j` / `bridge -j` print, so parsing is covered too.
@Suite struct OverlayDiffTests {
    static let cluster = IPv4Network("10.244.0.0/16")!
    static let local = peer("node-a", 1)
    static let b = peer("node-b", 2)
    static let c = peer("node-c", 3)
    static let d = peer("node-d", 4)

    static func peer(_ name: String, _ n: UInt32) -> OverlayPeer {
        OverlayPeer(
            node: name, podCIDR: IPv4Network(address: IPv4Address(0x0af4_0000 | n << 8), prefixLength: 24)!,
            publicIP: IPv4Address(0xc000_02a0 | n), vtepMAC: OverlayPeer.vtepMAC(forNode: name))
    }

    /// The JSON the kernel prints once `peers` are programmed (plus what the kernel itself adds).
    static func converged(_ peers: [OverlayPeer]) -> (routes: [String], neighbors: [String], fdb: [String]) {
        (
            peers.map { #"{"dst":"\#($0.podCIDR)","gateway":"\#($0.gateway)","flags":["onlink"]}"# },
            peers.map { #"{"dst":"\#($0.gateway)","lladdr":"\#($0.vtepMAC)","state":["PERMANENT"]}"# },
            peers.map { #"{"mac":"\#($0.vtepMAC)","dst":"\#($0.publicIP)","flags":["self"],"state":"permanent"}"# }
        )
    }

    static func state(routes: [String], neighbors: [String], fdb: [String]) throws -> OverlayKernelState {
        try OverlayKernelState.parse(
            routes: "[" + routes.joined(separator: ",") + "]", neighbors: "[" + neighbors.joined(separator: ",") + "]",
            fdb: "[" + fdb.joined(separator: ",") + "]")
    }

    /// Renders one scenario and compares it with its golden file; returns the plan for further checks.
    @discardableResult
    func check(_ name: String, _ title: String, peers: [OverlayPeer], actual: OverlayKernelState) throws -> OverlayPlan {
        let desired = OverlayDiff.desired(peers: [Self.local] + peers, localNode: Self.local.node)
        let plan = OverlayDiff.plan(
            desired: desired, actual: actual, device: "kumo.1", clusterCIDR: Self.cluster, localSubnet: Self.local.podCIDR)
        var text = "# \(title)\n\n## desired\n"
        text += desired.sorted().map { "\($0)\n" }.joined()
        text += "\n## kernel\n"
        text += actual.routes.map { "\($0)\n" }.joined() + actual.neighbors.map { "\($0)\n" }.joined()
            + actual.fdb.map { "\($0)\n" }.joined()
        text += "\n## repairs (\(plan.summary))\n" + plan.repairs.map { "\($0)\n" }.joined()
        text += "\n## ip -batch\n" + plan.ipBatch.map { "\($0)\n" }.joined()
        text += "\n## bridge -batch\n" + plan.bridgeBatch.map { "\($0)\n" }.joined()

        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/overlay-\(name).txt")
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
            try Data(text.utf8).write(to: url)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(text == expected, "golden overlay-\(name).txt differs")

        // Applying the plan's intent to the state must leave nothing to do: the diff converges.
        let healed = Self.simulate(plan, on: actual)
        let again = OverlayDiff.plan(
            desired: desired, actual: healed, device: "kumo.1", clusterCIDR: Self.cluster, localSubnet: Self.local.podCIDR)
        #expect(again.isEmpty, "not converged after applying: \(again.repairs)")
        return plan
    }

    /// A tiny model of the kernel: applies the batch lines of a plan to a state.
    static func simulate(_ plan: OverlayPlan, on state: OverlayKernelState) -> OverlayKernelState {
        var s = state
        for line in plan.ipBatch + plan.bridgeBatch {
            let w = line.split(separator: " ").map(String.init)
            switch (w[0], w[1]) {
            case ("route", "replace"):
                s.routes.removeAll { $0.dst.description == w[2] && $0.metric == 0 }
                s.routes.append(.init(dst: IPv4Network(w[2])!, gateway: IPv4Address(w[4]), onlink: true))
            case ("route", "del"):
                let metric = w.count > 5 ? Int(w[6])! : 0
                s.routes.removeAll { $0.dst.description == w[2] && $0.metric == metric }
            case ("neigh", "replace"):
                s.neighbors.removeAll { $0.ip.description == w[2] }
                s.neighbors.append(.init(ip: IPv4Address(w[2])!, mac: w[4], states: ["PERMANENT"]))
            case ("neigh", "del"):
                s.neighbors.removeAll { $0.ip.description == w[2] }
            case ("fdb", "replace"):
                if let i = s.fdb.firstIndex(where: { $0.mac == w[2] }) { s.fdb.remove(at: i) }
                s.fdb.append(.init(mac: w[2], dst: IPv4Address(w[6])))
            case ("fdb", "del"):
                s.fdb.removeAll { $0.mac == w[2] && (w[5] != "dst" || $0.dst?.description == w[6]) }
            default:
                Issue.record("unexpected line \(line)")
            }
        }
        return s
    }

    @Test func emptyKernelGetsThreeEntriesPerPeer() throws {
        let plan = try check("empty-to-three-peers", "empty kernel, three peers", peers: [Self.b, Self.c, Self.d],
            actual: OverlayKernelState())
        #expect(plan.repairs.count == 9)
        #expect(plan.count(.missing) == 9)
        #expect(plan.ipBatch.count == 6)
        #expect(plan.bridgeBatch.count == 3)
    }

    @Test func convergedKernelNeedsNothing() throws {
        let k = Self.converged([Self.b, Self.c, Self.d])
        let plan = try check("converged", "converged: nothing to do (kernel-made entries ignored)", peers: [Self.b, Self.c, Self.d],
            actual: Self.state(
                routes: k.routes + [#"{"dst":"10.244.1.0/24","protocol":"kernel","scope":"link","prefsrc":"10.244.1.0","flags":[]}"#],
                neighbors: k.neighbors + [#"{"dst":"10.244.9.0","state":["FAILED"]}"#],
                fdb: k.fdb + [#"{"mac":"00:00:00:00:00:00","dst":"192.0.2.170","flags":["self"],"state":"permanent"}"#]))
        #expect(plan.isEmpty)
    }

    @Test func fdbEntryDeletedByHand() throws {
        var k = Self.converged([Self.b, Self.c, Self.d])
        k.fdb.remove(at: 1)
        let plan = try check("fdb-deleted", "fdb entry of node-c deleted by hand", peers: [Self.b, Self.c, Self.d],
            actual: Self.state(routes: k.routes, neighbors: k.neighbors, fdb: k.fdb))
        #expect(plan.repairs.map(\.reason) == [.missing])
        #expect(plan.ipBatch.isEmpty)
        #expect(plan.bridgeBatch == ["fdb replace \(Self.c.vtepMAC) dev kumo.1 dst 192.0.2.163 self permanent"])
    }

    @Test func neighbourWithWrongMACOrState() throws {
        var k = Self.converged([Self.b, Self.c, Self.d])
        k.neighbors[0] = #"{"dst":"10.244.2.0","lladdr":"02:de:ad:be:ef:00","state":["PERMANENT"]}"#
        k.neighbors[1] = #"{"dst":"10.244.3.0","lladdr":"\#(Self.c.vtepMAC)","state":["STALE"]}"#
        let plan = try check("neighbor-wrong", "neighbour of node-b has a wrong MAC, node-c's is not permanent",
            peers: [Self.b, Self.c, Self.d], actual: Self.state(routes: k.routes, neighbors: k.neighbors, fdb: k.fdb))
        #expect(plan.repairs.map(\.reason) == [.wrong, .wrong])
        #expect(plan.repairs.allSatisfy { $0.kind == .neighbor })
    }

    @Test func removedPeerLosesItsThreeEntries() throws {
        let k = Self.converged([Self.b, Self.c, Self.d])
        let plan = try check("peer-removed", "node-c removed", peers: [Self.b, Self.d],
            actual: Self.state(routes: k.routes, neighbors: k.neighbors, fdb: k.fdb))
        #expect(plan.count(.extra) == 3)
        #expect(plan.repairs.count == 3)
        #expect(plan.ipBatch == ["route del 10.244.3.0/24 dev kumo.1", "neigh del 10.244.3.0 dev kumo.1"])
    }

    @Test func strayRoutesInsideTheClusterGoOthersStay() throws {
        let k = Self.converged([Self.b])
        let plan = try check("stray-routes", "stray routes on kumo.1: inside the cluster CIDR deleted, others left alone",
            peers: [Self.b],
            actual: Self.state(
                routes: k.routes + [
                    #"{"dst":"10.244.7.0/24","gateway":"10.244.7.0","flags":["onlink"]}"#,
                    #"{"dst":"10.244.2.0/24","scope":"link","metric":100,"flags":[]}"#,
                    #"{"dst":"10.244.8.5","scope":"link","flags":[]}"#,
                    #"{"dst":"10.244.1.0/24","scope":"link","flags":[]}"#,
                    #"{"dst":"10.99.0.0/24","scope":"link","flags":[]}"#,
                    #"{"dst":"10.0.0.0/8","scope":"link","flags":[]}"#,
                    #"{"dst":"default","gateway":"10.244.2.0","flags":["onlink"]}"#,
                ], neighbors: k.neighbors, fdb: k.fdb))
        #expect(plan.repairs.map(\.reason) == [.extra, .extra, .extra])
        #expect(plan.ipBatch == [
            "route del 10.244.2.0/24 dev kumo.1 metric 100", "route del 10.244.7.0/24 dev kumo.1",
            "route del 10.244.8.5/32 dev kumo.1",
        ])
    }

    @Test func wrongGatewayWrongRemoteAndExtraRemotes() throws {
        var k = Self.converged([Self.b, Self.c, Self.d])
        k.routes[0] = #"{"dst":"10.244.2.0/24","gateway":"10.244.3.0","flags":["onlink"]}"#
        k.fdb[1] = #"{"mac":"\#(Self.c.vtepMAC)","dst":"192.0.2.170","flags":["self"],"state":"permanent"}"#
        k.fdb.append(#"{"mac":"\#(Self.d.vtepMAC)","dst":"192.0.2.171","flags":["self"],"state":"permanent"}"#)
        k.fdb.append(#"{"mac":"02:00:00:00:00:77","dst":"192.0.2.172","flags":["self"],"state":"permanent"}"#)
        k.neighbors.append(#"{"dst":"10.244.77.0","lladdr":"02:00:00:00:00:77","state":["PERMANENT"]}"#)
        let plan = try check("mixed-drift", "wrong gateway, wrong remote, an appended remote, a stray peer's leftovers",
            peers: [Self.b, Self.c, Self.d], actual: Self.state(routes: k.routes, neighbors: k.neighbors, fdb: k.fdb))
        #expect(plan.count(.wrong) == 2)
        #expect(plan.count(.extra) == 3)
        #expect(plan.ipBatch.last == "neigh del 10.244.77.0 dev kumo.1", "neighbour deletes run last")
    }
}
