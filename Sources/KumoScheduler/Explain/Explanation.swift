/// Why a replica went where it went, or nowhere: stored as JSON on the replica (`kumo describe`), its `summary`
/// used for the Pending reason and Events.
public struct Explanation: Sendable, Equatable {
    /// Nodes one checker rejected for one reason.
    public struct Rejection: Codable, Sendable, Equatable {
        public var checker: String
        public var reason: String
        public var count: Int

        public init(checker: String, reason: String, count: Int) {
            self.checker = checker
            self.reason = reason
            self.count = count
        }
    }

    /// One ranker's part in a node's score.
    public struct ScoreComponent: Codable, Sendable, Equatable {
        public var ranker: String
        /// `0...1`.
        public var score: Double
        public var weight: Double

        public init(ranker: String, score: Double, weight: Double) {
            self.ranker = ranker
            self.score = score
            self.weight = weight
        }
    }

    /// A ranked node: its final score (weighted mean of the components) and the components.
    public struct NodeScore: Codable, Sendable, Equatable {
        public var node: String
        public var score: Double
        public var components: [ScoreComponent]

        public init(node: String, score: Double, components: [ScoreComponent]) {
            self.node = node
            self.score = score
            self.components = components
        }
    }

    /// The chosen node, nil when unschedulable.
    public var node: String?
    public var strategy: SchedulerOptions.Strategy
    public var nodesTotal: Int
    /// Nodes the checkers looked at (all of them unless `sampled`).
    public var nodesEvaluated: Int
    /// Evaluated nodes every checker accepted (the ones ranked).
    public var nodesFeasible: Int
    /// The search stopped after `sampleLimit` feasible nodes, before visiting every node.
    public var sampled: Bool
    /// Feasible nodes the search was allowed to stop at.
    public var sampleLimit: Int
    /// Rejections by checker and reason, most first.
    public var rejected: [Rejection]
    /// Up to three best nodes, best first (the chosen one first).
    public var topScores: [NodeScore]
    /// This placement's seed (from the options' seed and the replica's identity): replays the node order.
    public var seed: UInt64
    /// Anything the reader should know, e.g. a topology key the snapshot does not index.
    public var notes: [String]

    public init(
        node: String?, strategy: SchedulerOptions.Strategy, nodesTotal: Int, nodesEvaluated: Int, nodesFeasible: Int,
        sampled: Bool, sampleLimit: Int, rejected: [Rejection], topScores: [NodeScore], seed: UInt64,
        notes: [String] = []
    ) {
        self.node = node
        self.strategy = strategy
        self.nodesTotal = nodesTotal
        self.nodesEvaluated = nodesEvaluated
        self.nodesFeasible = nodesFeasible
        self.sampled = sampled
        self.sampleLimit = sampleLimit
        self.rejected = rejected
        self.topScores = topScores
        self.seed = seed
        self.notes = notes
    }

    /// Nodes the checker rejected, over all its reasons.
    public func rejectedCount(by checker: String) -> Int {
        rejected.reduce(0) { $0 + ($1.checker == checker ? $1.count : 0) }
    }

    /// Nodes rejected for `reason` (e.g. `"insufficient memory"`).
    public func rejectedCount(reason: String) -> Int {
        rejected.reduce(0) { $0 + ($1.reason == reason ? $1.count : 0) }
    }

    /// One line, Kubernetes-style:
    /// `0/3 nodes available: 2 insufficient memory, 1 not ready`,
    /// `placed on node-2 (score 0.830); 2/3 nodes available: 1 not ready`,
    /// `placed on node-42 (score 0.910); sampled 512/5000 nodes, 500 available: 12 not ready`.
    public var summary: String {
        var reasons = ""
        for (i, r) in rejected.enumerated() {
            reasons += i == 0 ? ": " : ", "
            reasons += "\(r.count) \(r.reason)"
        }
        let counts =
            sampled
            ? "sampled \(nodesEvaluated)/\(nodesTotal) nodes, \(nodesFeasible) available"
            : "\(nodesFeasible)/\(nodesTotal) nodes available"
        guard let node else {
            if nodesTotal == 0 { return "0/0 nodes available: no nodes" }
            return counts + reasons
        }
        let score = topScores.first.map { " (score \(Self.format($0.score)))" } ?? ""
        return "placed on \(node)\(score); \(counts)\(reasons)"
    }

    /// Three decimals, without Foundation.
    static func format(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = abs(thousandths)
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
