/// Which peers one health round probes. A full mesh is cheap for a few nodes and not at a thousand: every agent
/// pinging 999 peers twice every 5 s would be 400 `ping` processes a second per node. So a round probes every peer
/// while there are at most `limit`; beyond that, the peers that failed last round first (at most half the limit:
/// an outage stays watched and its evidence fresh), then a window over the others, sorted by name, that moves on
/// each round, so every peer is probed within ⌈n / (limit − failing)⌉ rounds. Across the cloud each node is then
/// still probed by about `limit` peers per round: enough witnesses for AGENT_DOWN vs NODE_UNREACHABLE.
struct PeerSample: Sendable, Equatable {
    var limit = 32
    /// Where the next window starts, in the name-sorted list of the peers not retried.
    var cursor = 0
    /// Peers whose probe failed in the last round.
    var failing: Set<String> = []

    /// The targets of this round (sorted by node name), and the cursor moved past the window.
    mutating func choose(_ peers: [PingProbe.Target]) -> [PingProbe.Target] {
        let sorted = peers.sorted { $0.node < $1.node }
        guard sorted.count > limit else { return sorted }
        let retried = Array(sorted.filter { failing.contains($0.node) }.prefix(limit / 2))
        let retriedNodes = Set(retried.map(\.node))
        let rest = sorted.filter { !retriedNodes.contains($0.node) }
        let room = min(limit - retried.count, rest.count)
        let start = rest.isEmpty ? 0 : cursor % rest.count
        let window = (0..<room).map { rest[(start + $0) % rest.count] }
        cursor = rest.isEmpty ? 0 : (start + room) % rest.count
        return (retried + window).sorted { $0.node < $1.node }
    }

    /// Remembers which probes of this round failed (not reachable, or the full-size probe lost).
    mutating func record(_ outcomes: [PingProbe.Outcome]) {
        failing = Set(outcomes.filter { !$0.reachable || $0.fullSizeReachable == false }.map(\.node))
    }
}
