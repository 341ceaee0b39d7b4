import KumoModel

/// The labels that tie a replica to its workload and revision, and how a `.create` action becomes a Replica.
public enum WorkloadLabels {
    /// The owning workload's name (same project).
    public static let workload = "kumo.dev/workload"
    /// The `TemplateHash` of the template the replica was made from.
    public static let templateHash = "kumo.dev/template-hash"

    /// Longest workload name kept in a replica name: `<workload>-<hash>-<suffix>` must fit a DNS label (63).
    public static let maxNamePrefix = 63 - 1 - TemplateHash.length - 1 - NameSuffixes.length

    /// `<workload>-<hash>-<suffix>`; a long workload name is cut to `maxNamePrefix` characters (trailing `-`
    /// dropped) so the result is always a valid DNS label.
    public static func replicaName(workload: String, hash: String, suffix: String) -> String {
        var prefix = Substring(workload.prefix(maxNamePrefix))
        while prefix.last == "-" { prefix = prefix.dropLast() }
        return "\(prefix)-\(hash)-\(suffix)"
    }

    /// The Replica to create for `.create(replicaName:template:hash:)` of `workload`: the template's labels plus
    /// the workload and template-hash labels, in the workload's project, spec = the template's spec.
    public static func replica(named name: String, template: ReplicaTemplate, hash: String, of workload: Workload)
        -> Replica
    {
        var labels = template.labels ?? [:]
        labels[Self.workload] = workload.metadata.name
        labels[Self.templateHash] = hash
        return Replica(
            metadata: ObjectMeta(name: name, project: workload.metadata.project, labels: labels),
            spec: template.spec)
    }
}
