/// A virtual machine (project-scoped), run by QEMU on a node.
public typealias Instance = Object<InstanceSpec>

public struct InstanceSpec: ResourceSpec {
    public typealias Status = InstanceStatus
    public static var kind: Kind { .instance }

    public static let maxUserDataBytes = 256 * 1024

    /// Disk image reference: `name`, `name:tag` or `name@sha256:…`.
    public var image: String
    /// Virtual CPUs, 1...64.
    public var cpus: Int?
    public var memory: MemoryQuantity?
    public var diskSize: MemoryQuantity?
    /// The node it is bound to.
    public var nodeName: String?
    /// Address and MAC (written by the binding; owned by `ipam`).
    public var network: NetworkAttachment?
    public var nodeSelector: [String: String]?
    public var ports: [ContainerPort]?
    /// cloud-init user data.
    public var userData: String?

    public init(
        image: String, cpus: Int? = nil, memory: MemoryQuantity? = nil, diskSize: MemoryQuantity? = nil,
        nodeName: String? = nil, network: NetworkAttachment? = nil, nodeSelector: [String: String]? = nil,
        ports: [ContainerPort]? = nil, userData: String? = nil
    ) {
        self.image = image
        self.cpus = cpus
        self.memory = memory
        self.diskSize = diskSize
        self.nodeName = nodeName
        self.network = network
        self.nodeSelector = nodeSelector
        self.ports = ports
        self.userData = userData
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let why = Names.validateImageReference(image) { errors.append(FieldError("\(path).image", why)) }
        if let cpus, !(1...64).contains(cpus) {
            errors.append(FieldError("\(path).cpus", "must be between 1 and 64"))
        }
        if let memory, memory.bytes == 0 { errors.append(FieldError("\(path).memory", "must be greater than 0")) }
        if let diskSize, diskSize.bytes == 0 {
            errors.append(FieldError("\(path).diskSize", "must be greater than 0"))
        }
        if let nodeName, let why = Names.validateDNSLabel(nodeName) {
            errors.append(FieldError("\(path).nodeName", why))
        }
        errors += network?.validate(path: "\(path).network") ?? []
        errors += MetadataValidation.validateLabels(nodeSelector, path: "\(path).nodeSelector")
        errors += ContainerPort.validate(ports, path: "\(path).ports")
        if let userData, userData.utf8.count > Self.maxUserDataBytes {
            errors.append(FieldError("\(path).userData", "must be no more than \(Self.maxUserDataBytes) bytes"))
        }
        return errors
    }
}

public struct InstanceStatus: Codable, Sendable, Equatable {
    public var phase: InstancePhase?
    public var reason: String?
    public var message: String?
    /// Accelerator in use: `kvm` or `tcg`.
    public var accel: String?
    public var ip: String?
    /// RFC 3339.
    public var startedAt: String?
    /// Progress of provisioning and boot, in order.
    public var steps: [InstanceStep]?

    public init(
        phase: InstancePhase? = nil, reason: String? = nil, message: String? = nil, accel: String? = nil,
        ip: String? = nil, startedAt: String? = nil, steps: [InstanceStep]? = nil
    ) {
        self.phase = phase
        self.reason = reason
        self.message = message
        self.accel = accel
        self.ip = ip
        self.startedAt = startedAt
        self.steps = steps
    }
}

public enum InstancePhase: String, Codable, CaseIterable, Sendable, Hashable {
    case pending = "Pending"
    case scheduled = "Scheduled"
    case provisioning = "Provisioning"
    case booting = "Booting"
    case running = "Running"
    case stopping = "Stopping"
    case stopped = "Stopped"
    case failed = "Failed"
    case unknown = "Unknown"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// One step of bringing an instance up (`fetch-image`, `create-disk`, `tap`, `dhcp`, `qemu`, …).
public struct InstanceStep: Codable, Sendable, Equatable, Hashable {
    public var name: String
    /// Free-form state such as `running`, `done`, `failed`.
    public var state: String
    public var startedAt: String?
    public var finishedAt: String?
    public var message: String?

    public init(
        name: String, state: String, startedAt: String? = nil, finishedAt: String? = nil, message: String? = nil
    ) {
        self.name = name
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
    }
}
