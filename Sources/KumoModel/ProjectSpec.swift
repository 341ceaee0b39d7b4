/// A namespace for workloads, replicas, instances, services and secrets (cluster-scoped).
public typealias Project = Object<ProjectSpec>

public struct ProjectSpec: ResourceSpec {
    public typealias Status = EmptyStatus
    public static var kind: Kind { .project }

    public var description: String?
    /// Upper bound on the summed requests of the project's replicas (`pods` = replica count).
    public var quota: Resources?

    public init(description: String? = nil, quota: Resources? = nil) {
        self.description = description
        self.quota = quota
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let description, description.count > 1024 {
            errors.append(FieldError("\(path).description", "must be no more than 1024 characters"))
        }
        errors += quota?.validate(path: "\(path).quota") ?? []
        return errors
    }
}
