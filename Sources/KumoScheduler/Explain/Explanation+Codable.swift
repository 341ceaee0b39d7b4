/// JSON as stored on the replica: every field plus `summary` (recomputed on decode, so it cannot disagree),
/// and `seed` as a hex string because JSON numbers are exact only up to 2^53.
extension Explanation: Codable {
    enum CodingKeys: String, CodingKey {
        case summary, node, strategy, nodesTotal, nodesEvaluated, nodesFeasible, sampled, sampleLimit, rejected
        case topScores, seed, notes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let seedText = try c.decode(String.self, forKey: .seed)
        guard let seed = UInt64(seedText.hasPrefix("0x") ? String(seedText.dropFirst(2)) : seedText, radix: 16)
        else {
            throw DecodingError.dataCorruptedError(
                forKey: .seed, in: c, debugDescription: "expected a hex seed like 0x00000000000000ff")
        }
        self.init(
            node: try c.decodeIfPresent(String.self, forKey: .node),
            strategy: try c.decode(SchedulerOptions.Strategy.self, forKey: .strategy),
            nodesTotal: try c.decode(Int.self, forKey: .nodesTotal),
            nodesEvaluated: try c.decode(Int.self, forKey: .nodesEvaluated),
            nodesFeasible: try c.decode(Int.self, forKey: .nodesFeasible),
            sampled: try c.decode(Bool.self, forKey: .sampled),
            sampleLimit: try c.decode(Int.self, forKey: .sampleLimit),
            rejected: try c.decodeIfPresent([Rejection].self, forKey: .rejected) ?? [],
            topScores: try c.decodeIfPresent([NodeScore].self, forKey: .topScores) ?? [],
            seed: seed,
            notes: try c.decodeIfPresent([String].self, forKey: .notes) ?? [])
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(summary, forKey: .summary)
        try c.encodeIfPresent(node, forKey: .node)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(nodesTotal, forKey: .nodesTotal)
        try c.encode(nodesEvaluated, forKey: .nodesEvaluated)
        try c.encode(nodesFeasible, forKey: .nodesFeasible)
        try c.encode(sampled, forKey: .sampled)
        try c.encode(sampleLimit, forKey: .sampleLimit)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(topScores, forKey: .topScores)
        try c.encode(Self.hex(seed), forKey: .seed)
        if !notes.isEmpty { try c.encode(notes, forKey: .notes) }
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
