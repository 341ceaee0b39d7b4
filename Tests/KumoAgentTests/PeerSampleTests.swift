import Testing

@testable import KumoAgent

@Suite("peer probes: a full mesh up to 32 peers, a moving window plus last round's failures beyond")
struct PeerSampleTests {
    func peers(_ n: Int) -> [PingProbe.Target] {
        (0..<n).map { PingProbe.Target(node: String(format: "node-%04d", $0), address: "192.0.2.\($0 % 250 + 1)") }
    }

    @Test("up to the limit every peer is probed every round")
    func fullMeshWhenSmall() {
        var s = PeerSample()
        #expect(s.choose(peers(32)).count == 32)
        #expect(s.choose(peers(3)).map(\.node) == ["node-0000", "node-0001", "node-0002"])
    }

    @Test("999 peers: 32 a round, every one probed within ⌈999/32⌉ rounds, each round distinct")
    func windowCoversEveryone() {
        var s = PeerSample()
        let all = peers(999)
        var seen: [String: Int] = [:]
        for _ in 0..<32 {
            let round = s.choose(all)
            #expect(round.count == 32 && Set(round.map(\.node)).count == 32)
            for t in round { seen[t.node, default: 0] += 1 }
            s.record(round.map { PingProbe.Outcome(node: $0.node, address: $0.address, reachable: true) })
        }
        #expect(seen.count == 999, "missed \(999 - seen.count) peers")
        #expect(seen.values.max()! <= 2)
    }

    @Test("a peer that failed is probed again next round (at most half the rounds' probes are retries)")
    func failuresAreRetried() {
        var s = PeerSample()
        let all = peers(500)
        let first = s.choose(all)
        let down = first.prefix(3).map(\.node)
        s.record(first.map { PingProbe.Outcome(node: $0.node, address: $0.address, reachable: !down.contains($0.node)) })
        let second = s.choose(all).map(\.node)
        #expect(Set(down).isSubset(of: Set(second)) && second.count == 32)
        // a whole window lost (the node's own link down): retries take half, the window moves on with the rest
        s.record(s.choose(all).map { PingProbe.Outcome(node: $0.node, address: $0.address, reachable: false) })
        let third = s.choose(all).map(\.node)
        #expect(third.count == 32 && third.filter { s.failing.contains($0) }.count == 16)
    }
}
