/// A set of identical replicas kept running and rolled out (project-scoped); like a Deployment.
public typealias Workload = Object<WorkloadSpec>

public struct WorkloadSpec: ResourceSpec {
    public typealias Status = WorkloadStatus
    public static var kind: Kind { .workload }

    public static let maxReplicas = 10_000

    /// Desired number of replicas, 0...10000.
    public var replicas: Int
    /// Labels that identify this workload's replicas; when given, the template must carry them.
    public var selector: [String: String]?
    public var template: ReplicaTemplate
    public var strategy: RolloutStrategy?
    /// How many old revisions `status.revisions` keeps for `rollout undo`.
    public var revisionHistoryLimit: Int?
    /// How long a rollout may take before it is declared failed (and reverted); default set by the controller
    /// (120 s).
    public var progressDeadlineSeconds: Int?

    public init(
        replicas: Int, selector: [String: String]? = nil, template: ReplicaTemplate,
        strategy: RolloutStrategy? = nil, revisionHistoryLimit: Int? = nil
    ) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
        self.strategy = strategy
        self.revisionHistoryLimit = revisionHistoryLimit
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let d = progressDeadlineSeconds, d < 1 {
            errors.append(FieldError("\(path).progressDeadlineSeconds", "must be at least 1"))
        }
        if !(0...Self.maxReplicas).contains(replicas) {
            errors.append(FieldError("\(path).replicas", "must be between 0 and \(Self.maxReplicas)"))
        }
        if let selector {
            let syntax = MetadataValidation.validateLabels(selector, path: "\(path).selector")
            errors += syntax
            if selector.isEmpty {
                errors.append(FieldError("\(path).selector", "must not be empty when given"))
            } else if syntax.isEmpty {
                let labels = template.labels ?? [:]
                for key in selector.keys.sorted() where labels[key] != selector[key] {
                    errors.append(
                        FieldError(
                            "\(path).selector",
                            "does not match template labels: \(key)=\(selector[key]!) is not in spec.template.labels"))
                    break
                }
            }
        }
        errors += MetadataValidation.validateLabels(template.labels, path: "\(path).template.labels")
        errors += template.spec.validate(path: "\(path).template.spec", metadata: metadata)
        if template.spec.network != nil {
            errors.append(
                FieldError("\(path).template.spec.network", "must not be set in a template (set per replica by ipam)"))
        }
        if let strategy {
            let at = "\(path).strategy"
            if let u = strategy.maxUnavailable, u.isPercent, u.value > 100 {
                errors.append(FieldError("\(at).maxUnavailable", "must be no more than 100%"))
            }
            let total = Swift.max(replicas, 1)
            let surge = strategy.effectiveMaxSurge.resolve(total: total, roundUp: true)
            let unavailable = strategy.effectiveMaxUnavailable.resolve(total: total, roundUp: false)
            if surge == 0 && unavailable == 0 {
                errors.append(FieldError("\(at).maxUnavailable", "may not be 0 when maxSurge is 0"))
            }
        }
        if let r = revisionHistoryLimit, r < 0 {
            errors.append(FieldError("\(path).revisionHistoryLimit", "must not be negative"))
        }
        return errors
    }
}

/// What each replica of a workload looks like. Its hash names a revision (the template-hash label).
public struct ReplicaTemplate: Codable, Sendable, Equatable, Hashable {
    public var labels: [String: String]?
    public var spec: ReplicaSpec

    public init(labels: [String: String]? = nil, spec: ReplicaSpec) {
        self.labels = labels
        self.spec = spec
    }
}

/// Rolling update limits: integers or percentages of `replicas` (defaults 25% / 25%).
public struct RolloutStrategy: Codable, Sendable, Equatable, Hashable {
    /// Extra replicas above `replicas` during a rollout; a percentage rounds up.
    public var maxSurge: IntOrPercent?
    /// Replicas that may be unavailable during a rollout; a percentage rounds down.
    public var maxUnavailable: IntOrPercent?

    public static let defaultMaxSurge = IntOrPercent.percent(25)
    public static let defaultMaxUnavailable = IntOrPercent.percent(25)

    public init(maxSurge: IntOrPercent? = nil, maxUnavailable: IntOrPercent? = nil) {
        self.maxSurge = maxSurge
        self.maxUnavailable = maxUnavailable
    }

    public var effectiveMaxSurge: IntOrPercent { maxSurge ?? Self.defaultMaxSurge }
    public var effectiveMaxUnavailable: IntOrPercent { maxUnavailable ?? Self.defaultMaxUnavailable }

    /// Absolute limits for `replicas`; if both come out 0 (possible only for 0 replicas), unavailable is 1.
    public func resolve(replicas: Int) -> (maxSurge: Int, maxUnavailable: Int) {
        let surge = effectiveMaxSurge.resolve(total: replicas, roundUp: true)
        let unavailable = effectiveMaxUnavailable.resolve(total: replicas, roundUp: false)
        return (surge, surge == 0 && unavailable == 0 ? 1 : unavailable)
    }
}

public struct WorkloadStatus: Codable, Sendable, Equatable {
    public var replicas: Int?
    public var readyReplicas: Int?
    public var updatedReplicas: Int?
    public var availableReplicas: Int?
    /// Template hash of the revision most replicas run.
    public var currentRevision: String?
    /// Template hash of the revision being rolled out.
    public var updateRevision: String?
    /// The last revisions, newest last (for `rollout undo`).
    public var revisions: [WorkloadRevision]?
    public var conditions: [Condition]?

    public init(
        replicas: Int? = nil, readyReplicas: Int? = nil, updatedReplicas: Int? = nil,
        availableReplicas: Int? = nil, currentRevision: String? = nil, updateRevision: String? = nil,
        revisions: [WorkloadRevision]? = nil, conditions: [Condition]? = nil
    ) {
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.updatedReplicas = updatedReplicas
        self.availableReplicas = availableReplicas
        self.currentRevision = currentRevision
        self.updateRevision = updateRevision
        self.revisions = revisions
        self.conditions = conditions
    }
}

public struct WorkloadRevision: Codable, Sendable, Equatable, Hashable {
    /// Template hash.
    public var hash: String
    /// RFC 3339.
    public var createdAt: String?
    public var template: ReplicaTemplate

    public init(hash: String, createdAt: String? = nil, template: ReplicaTemplate) {
        self.hash = hash
        self.createdAt = createdAt
        self.template = template
    }
}
