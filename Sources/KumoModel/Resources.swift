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

    /// Bounds far above any machine (a million cores, 1 PiB) that keep every sum of requests a scheduler or a
    /// node adds up far from overflowing.
    public static let maxCPUMillicores: Int64 = 1_000_000_000
    public static let maxMemoryBytes: Int64 = 1 << 50
    public static let maxPods = 1_000_000

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if let pods, !(0...Self.maxPods).contains(pods) {
            errors.append(FieldError("\(path).pods", "must be between 0 and \(Self.maxPods)"))
        }
        if let cpu, cpu.millicores > Self.maxCPUMillicores {
            errors.append(FieldError("\(path).cpu", "must be no more than \(Self.maxCPUMillicores / 1000) cores"))
        }
        if let memory, memory.bytes > Self.maxMemoryBytes {
            errors.append(FieldError("\(path).memory", "must be no more than 1Pi"))
        }
        return errors
    }
}
