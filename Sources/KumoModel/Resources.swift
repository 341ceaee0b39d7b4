/// An amount of compute: a replica's request, a node's capacity/allocatable, a project's quota.
public struct Resources: Codable, Sendable, Equatable, Hashable {
    public var cpu: CPUQuantity?
    public var memory: MemoryQuantity?
    /// Number of replicas (node capacity, project quota).
    public var pods: Int?

    public init(cpu: CPUQuantity? = nil, memory: MemoryQuantity? = nil, pods: Int? = nil) {
        self.cpu = cpu
        self.memory = memory
        self.pods = pods
    }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let pods, pods < 0 { errors.append(FieldError("\(path).pods", "must not be negative")) }
        return errors
    }
}
