import KumoModel

/// Index functions several caches share (`ObjectCache.addIndex`).
public enum ObjectIndexes {
    /// Objects by the value of label `label`, as a key in the object's own project (`project/value`). Kumo records
    /// an owner as a label naming it in the same project — a replica's `kumo.dev/workload` — so with that label the
    /// entries are the owners' cache keys: `byIndex("owner", workload.cacheKey)` is the workload's replicas.
    public static func label<Spec: ResourceSpec>(_ label: String) -> @Sendable (Object<Spec>) -> [String] {
        { object in
            guard let value = object.metadata.labels?[label] else { return [] }
            return [CacheKey.make(project: object.metadata.project, name: value)]
        }
    }

    /// Objects by their project (`""` for a cluster-scoped one).
    public static func project<Spec: ResourceSpec>() -> @Sendable (Object<Spec>) -> [String] {
        { [$0.metadata.project ?? ""] }
    }

    /// Replicas by the node they are bound to (`spec.nodeName`); unbound ones are under no entry.
    public static let replicaNode: @Sendable (Replica) -> [String] = { $0.spec.nodeName.map { [$0] } ?? [] }

    /// Instances (VMs) by the node they are bound to (`spec.nodeName`); unbound ones are under no entry.
    public static let instanceNode: @Sendable (Instance) -> [String] = { $0.spec.nodeName.map { [$0] } ?? [] }
}
