/// How much each built-in ranker counts; a weight of 0 leaves the ranker out.
public struct RankerWeights: Sendable, Equatable, Codable {
    /// `LeastAllocated` (spread) or `MostAllocated` (binpack).
    public var resources: Double
    public var groupNodeSpread: Double
    public var groupTopologySpread: Double
    /// Only for requests with `antiAffinity: .preferred`.
    public var softAntiAffinity: Double
    public var preferNoSchedule: Double

    public init(
        resources: Double = 1, groupNodeSpread: Double = 1, groupTopologySpread: Double = 1,
        softAntiAffinity: Double = 10, preferNoSchedule: Double = 2
    ) {
        self.resources = resources
        self.groupNodeSpread = groupNodeSpread
        self.groupTopologySpread = groupTopologySpread
        self.softAntiAffinity = softAntiAffinity
        self.preferNoSchedule = preferNoSchedule
    }

    /// Spread: every ranker. Binpack: no group spread (a workload's replicas fill a node like anything else),
    /// unless a request asks for anti-affinity.
    public static func defaults(for strategy: SchedulerOptions.Strategy) -> RankerWeights {
        switch strategy {
        case .spread: RankerWeights()
        case .binpack: RankerWeights(groupNodeSpread: 0, groupTopologySpread: 0)
        }
    }
}
