/// Places one replica at a time on a node of a snapshot (DESIGN.md "Scheduler"). Pure: no I/O, no clock, and
/// no randomness but the seed in its options.
///
/// The pipeline, in the spirit of Nomad's `GenericStack`:
/// 1. **Order**: nodes are visited in a permutation drawn from the placement's seed (a random start and a
///    random stride coprime with the node count, so nothing proportional to the cluster is allocated). A
///    random order spreads concurrent decisions and makes a sample a random one.
/// 2. **Feasibility**: checkers in order, cheapest and most static first (Ready, cordon, taints, node selector,
///    hard anti-affinity), resources last; the first that rejects a node is counted for the explanation. With a
///    node selector only the nodes carrying its rarest label are visited (the snapshot's inverted label index);
///    all others count as "didn't match node selector" without a look.
/// 3. **Sampling**: the search stops once `sampleSize` feasible nodes are found (kube-scheduler's
///    `percentageOfNodesToScore`, Nomad's limit iterator); a request that nothing fits visits every candidate,
///    so "0/N nodes available" always accounts for the whole cluster.
/// 4. **Ranking**: each feasible node's score is the weighted mean of the rankers that apply; the highest wins,
///    ties going to the node visited first, i.e. at random.
/// 5. **Explanation**: counts, rejections per checker, and the top three nodes with their components, which
///    are recomputed for those three only.
public struct Scheduler: Sendable {
    public let options: SchedulerOptions
    public let checkers: [any FeasibilityChecker]
    /// Rankers with a weight above 0.
    public let rankers: [WeightedRanker]
    /// Where each checker's reasons start in the per-placement rejection counts (and, last, their total).
    private let reasonOffsets: [Int]
    private let reasonCount: Int
    /// Checker name and reason of each slot of the rejection counts.
    private let reasonCheckers: [String]
    private let reasonNames: [String]
    private let rankerNames: [String]
    let checkerKinds: [CheckerKind]
    let rankerKinds: [RankerKind]
    let rankerWeights: [Double]

    public init(options: SchedulerOptions = SchedulerOptions()) {
        self.init(options: options, checkers: Self.defaultCheckers(), rankers: Self.defaultRankers(for: options))
    }

    /// A custom pipeline (at most 64 checkers and 64 rankers).
    public init(options: SchedulerOptions, checkers: [any FeasibilityChecker], rankers: [WeightedRanker]) {
        precondition(checkers.count <= 64 && rankers.count <= 64, "at most 64 checkers and 64 rankers")
        self.options = options
        self.checkers = checkers
        self.rankers = rankers.filter { $0.weight > 0 }
        var offsets: [Int] = []
        var count = 0
        var reasonCheckers: [String] = []
        var reasonNames: [String] = []
        for checker in checkers {
            offsets.append(count)
            let reasons = checker.reasons.isEmpty ? ["rejected by \(checker.name)"] : checker.reasons
            count += reasons.count
            reasonCheckers += Array(repeating: checker.name, count: reasons.count)
            reasonNames += reasons
        }
        self.reasonCheckers = reasonCheckers
        self.reasonNames = reasonNames
        self.rankerNames = self.rankers.map(\.ranker.name)
        offsets.append(count)
        self.reasonOffsets = offsets
        self.reasonCount = count
        self.checkerKinds = checkers.map(CheckerKind.init)
        self.rankerKinds = self.rankers.map { RankerKind($0.ranker) }
        self.rankerWeights = self.rankers.map(\.weight)
    }

    /// Ready, cordon, taints, node selector, hard anti-affinity, resources.
    public static func defaultCheckers() -> [any FeasibilityChecker] {
        [
            NodeReadyChecker(), SchedulableChecker(), TaintsChecker(), NodeSelectorChecker(),
            HardAntiAffinityChecker(), ResourcesChecker(),
        ]
    }

    /// The strategy's resource ranker, group spread over nodes and topology, soft anti-affinity and the
    /// `PreferNoSchedule` penalty, weighted by `options.weights` (zero weights left out).
    public static func defaultRankers(for options: SchedulerOptions) -> [WeightedRanker] {
        let w = options.weights
        let resources: any Ranker =
            switch options.strategy {
            case .spread: LeastAllocatedRanker()
            case .binpack: MostAllocatedRanker()
            }
        return [
            WeightedRanker(resources, weight: w.resources),
            WeightedRanker(GroupNodeSpreadRanker(), weight: w.groupNodeSpread),
            WeightedRanker(GroupTopologySpreadRanker(), weight: w.groupTopologySpread),
            WeightedRanker(SoftAntiAffinityRanker(), weight: w.softAntiAffinity),
            WeightedRanker(PreferNoScheduleRanker(), weight: w.preferNoSchedule),
        ].filter { $0.weight > 0 }
    }

    /// The seed of one placement: the options' seed mixed with the replica's `project/name`.
    public func placementSeed(for request: PlacementRequest) -> UInt64 {
        var hash = SplitMix64.stableHash(request.project ?? "")
        hash = SplitMix64.stableHash("/", into: hash)
        hash = SplitMix64.stableHash(request.name, into: hash)
        var mixer = SplitMix64(seed: options.seed ^ hash)
        return mixer.next()
    }

    public func schedule(_ request: PlacementRequest, in snapshot: SchedulingSnapshot) -> PlacementDecision {
        let context = snapshot.context(for: request, topologyKey: options.topologyKey)
        let total = snapshot.nodeCount
        let seed = placementSeed(for: request)
        let limit = options.sampleSize.limit(forNodes: total)

        var activeCheckers: UInt64 = 0
        for (i, checker) in checkers.enumerated() where checker.applies(to: context, in: snapshot) {
            activeCheckers |= 1 << UInt64(i)
        }
        var activeRankers: UInt64 = 0
        var weightSum = 0.0
        for (i, r) in rankers.enumerated() where r.ranker.applies(to: context, in: snapshot) {
            activeRankers |= 1 << UInt64(i)
            weightSum += r.weight
        }

        var rejections = [Int](repeating: 0, count: reasonCount)
        // With a node selector (and the NodeSelector checker), search only the nodes of its rarest label; the
        // rest count as rejected by NodeSelector without a look.
        var candidates: Range<Int>?
        if let k = checkerKinds.firstIndex(of: .nodeSelector), activeCheckers & (1 << UInt64(k)) != 0,
            let range = context.selectorCandidates
        {
            candidates = range
            rejections[reasonOffsets[k]] += total - range.count
        }
        let searchable = candidates?.count ?? total

        var best = TopScores()
        var evaluated = 0
        var feasible = 0
        if searchable > 0 {
            var rng = SplitMix64(seed: seed)
            var position = rng.next(below: searchable)
            let step = Self.coprimeStep(for: searchable, using: &rng)
            let base = candidates?.lowerBound ?? 0
            search: while evaluated < searchable && feasible < limit {
                let candidate = candidates == nil ? position : Int(snapshot.labelNodes[base + position])
                position += step
                if position >= searchable { position -= searchable }
                evaluated += 1

                var mask = activeCheckers
                while mask != 0 {
                    let i = mask.trailingZeroBitCount
                    mask &= mask - 1
                    if !isFeasible(i, candidate, context, snapshot) {
                        rejections[reasonOffsets[i] + reasonIndex(i, candidate, context, snapshot)] += 1
                        continue search
                    }
                }
                feasible += 1

                var sum = 0.0
                mask = activeRankers
                while mask != 0 {
                    let i = mask.trailingZeroBitCount
                    mask &= mask - 1
                    sum += rankerWeights[i] * score(i, candidate, context, snapshot)
                }
                best.offer(node: candidate, score: weightSum > 0 ? sum / weightSum : 0)
            }
        }

        let chosen = best.first.map { snapshot.names[$0] }
        let explanation = Explanation(
            node: chosen, strategy: options.strategy, nodesTotal: total, nodesEvaluated: evaluated,
            nodesFeasible: feasible, sampled: evaluated < searchable, sampleLimit: limit,
            rejected: rejectionList(rejections),
            topScores: topScores(best, context: context, snapshot: snapshot, activeRankers: activeRankers),
            seed: seed,
            notes: context.hasTopology || !rankerKinds.contains(.groupTopologySpread)
                ? [] : ["topology key \"\(options.topologyKey)\" is not indexed by the snapshot; no topology spread"])
        if let chosen { return .placed(node: chosen, explanation) }
        return .unschedulable(explanation)
    }

    /// A stride in `1..<n` coprime with `n`, so `start + k·stride (mod n)` visits every node once.
    static func coprimeStep(for n: Int, using rng: inout SplitMix64) -> Int {
        guard n > 2 else { return 1 }
        var step = 1 + rng.next(below: n - 1)
        while gcd(step, n) != 1 { step = step % (n - 1) + 1 }
        return step
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// The checker's reason for rejecting the node, kept within its reasons.
    private func reasonIndex(_ i: Int, _ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Int {
        let count = reasonOffsets[i + 1] - reasonOffsets[i]
        guard count > 1 else { return 0 }
        let reason =
            checkerKinds[i] == .resources
            ? ResourcesChecker().reason(node, context, snapshot) : checkers[i].reason(node, context, snapshot)
        return min(max(0, reason), count - 1)
    }

    private func rejectionList(_ counts: [Int]) -> [Explanation.Rejection] {
        var list: [Explanation.Rejection] = []
        for (slot, count) in counts.enumerated() where count > 0 {
            list.append(.init(checker: reasonCheckers[slot], reason: reasonNames[slot], count: count))
        }
        return list.sorted { $0.count != $1.count ? $0.count > $1.count : $0.reason < $1.reason }
    }

    private func topScores(
        _ best: TopScores, context: PlacementContext, snapshot: SchedulingSnapshot, activeRankers: UInt64
    ) -> [Explanation.NodeScore] {
        best.nodes.map { entry in
            var components: [Explanation.ScoreComponent] = []
            for (i, r) in rankers.enumerated() where activeRankers & (1 << UInt64(i)) != 0 {
                let score = r.ranker.score(entry.node, context, snapshot)
                components.append(.init(ranker: rankerNames[i], score: Self.rounded(score), weight: r.weight))
            }
            return Explanation.NodeScore(
                node: snapshot.names[entry.node], score: Self.rounded(entry.score), components: components)
        }
    }

    /// Scores in explanations keep four decimals.
    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
