/// How the scheduler places: strategy, topology key, sampling and seed.
public struct SchedulerOptions: Sendable, Equatable {
    public enum Strategy: String, Sendable, Equatable, Codable, CaseIterable {
        /// Least allocated node first; a group's replicas spread over nodes and topology domains.
        case spread
        /// Most allocated node first, so whole nodes stay free.
        case binpack
    }

    /// How many feasible nodes to find before choosing the best of them. Nodes are visited in an order
    /// shuffled from the seed, so a sample is a random one; a request nothing fits visits every node.
    public enum SampleSize: Sendable, Equatable, Codable {
        /// Every node.
        case all
        /// kube-scheduler's adaptive `percentageOfNodesToScore`: every node below 100, else
        /// `max(5, 50 - nodes/125)` percent of them, at least 100 (500 of 5,000 nodes).
        case adaptive
        /// At most this many (at least 1).
        case fixed(Int)

        /// Feasible nodes to find in a cluster of `nodes`.
        public func limit(forNodes nodes: Int) -> Int {
            switch self {
            case .all:
                return nodes
            case .adaptive:
                let minimum = 100
                guard nodes > minimum else { return nodes }
                let percent = max(5, 50 - nodes / 125)
                return max(minimum, nodes * percent / 100)
            case .fixed(let n):
                return min(nodes, max(1, n))
            }
        }
    }

    public var strategy: Strategy
    /// Node label whose values are topology domains for group spread; the snapshot must index it
    /// (`SchedulingSnapshot(nodes:topologyKeys:)`), else topology spread is skipped and the explanation says so.
    public var topologyKey: String
    public var sampleSize: SampleSize
    /// Mixed with each replica's identity to shuffle the node order: same seed and snapshot, same decisions.
    public var seed: UInt64
    public var weights: RankerWeights

    /// `weights` default to ``RankerWeights/defaults(for:)`` of the strategy.
    public init(
        strategy: Strategy = .spread, topologyKey: String = "zone", sampleSize: SampleSize = .adaptive,
        seed: UInt64 = 0, weights: RankerWeights? = nil
    ) {
        self.strategy = strategy
        self.topologyKey = topologyKey
        self.sampleSize = sampleSize
        self.seed = seed
        self.weights = weights ?? .defaults(for: strategy)
    }
}
