/// Static dispatch for the built-in checkers and rankers: the search loop calls them directly (inlined) instead
/// of through their protocol existentials, which cost more than the checks themselves. Custom ones still go
/// through the protocol.
extension Scheduler {
    enum CheckerKind: Sendable {
        case ready, schedulable, taints, nodeSelector, hardAntiAffinity, resources, custom

        init(_ checker: any FeasibilityChecker) {
            switch checker {
            case is NodeReadyChecker: self = .ready
            case is SchedulableChecker: self = .schedulable
            case is TaintsChecker: self = .taints
            case is NodeSelectorChecker: self = .nodeSelector
            case is HardAntiAffinityChecker: self = .hardAntiAffinity
            case is ResourcesChecker: self = .resources
            default: self = .custom
            }
        }
    }

    enum RankerKind: Sendable {
        case leastAllocated, mostAllocated, groupNodeSpread, groupTopologySpread, softAntiAffinity, preferNoSchedule
        case custom

        init(_ ranker: any Ranker) {
            switch ranker {
            case is LeastAllocatedRanker: self = .leastAllocated
            case is MostAllocatedRanker: self = .mostAllocated
            case is GroupNodeSpreadRanker: self = .groupNodeSpread
            case is GroupTopologySpreadRanker: self = .groupTopologySpread
            case is SoftAntiAffinityRanker: self = .softAntiAffinity
            case is PreferNoScheduleRanker: self = .preferNoSchedule
            default: self = .custom
            }
        }
    }

    @inline(__always)
    func isFeasible(_ i: Int, _ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        switch checkerKinds[i] {
        case .ready: NodeReadyChecker().feasible(node, context, snapshot)
        case .schedulable: SchedulableChecker().feasible(node, context, snapshot)
        case .taints: TaintsChecker().feasible(node, context, snapshot)
        case .nodeSelector: NodeSelectorChecker().feasible(node, context, snapshot)
        case .hardAntiAffinity: HardAntiAffinityChecker().feasible(node, context, snapshot)
        case .resources: ResourcesChecker().feasible(node, context, snapshot)
        case .custom: customFeasible(i, node, context, snapshot)
        }
    }

    @inline(never)
    func customFeasible(_ i: Int, _ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Bool {
        checkers[i].feasible(node, context, snapshot)
    }

    @inline(__always)
    func score(_ i: Int, _ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        switch rankerKinds[i] {
        case .leastAllocated: LeastAllocatedRanker().score(node, context, snapshot)
        case .mostAllocated: MostAllocatedRanker().score(node, context, snapshot)
        case .groupNodeSpread: GroupNodeSpreadRanker().score(node, context, snapshot)
        case .groupTopologySpread: GroupTopologySpreadRanker().score(node, context, snapshot)
        case .softAntiAffinity: SoftAntiAffinityRanker().score(node, context, snapshot)
        case .preferNoSchedule: PreferNoScheduleRanker().score(node, context, snapshot)
        case .custom: customScore(i, node, context, snapshot)
        }
    }

    @inline(never)
    func customScore(_ i: Int, _ node: Int, _ context: PlacementContext, _ snapshot: SchedulingSnapshot) -> Double {
        rankers[i].ranker.score(node, context, snapshot)
    }
}
