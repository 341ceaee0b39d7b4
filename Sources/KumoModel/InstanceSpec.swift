/// A virtual machine (project-scoped), run by QEMU on a node.
public typealias Instance = Object<InstanceSpec>

public struct InstanceSpec: ResourceSpec {
    public typealias Status = InstanceStatus
    public static var kind: Kind { .instance }

    public static let maxUserDataBytes = 256 * 1024
    public static let defaultVCPUs = 1
    public static let defaultMemoryBytes: Int64 = 256 << 20
    /// Annotation whose new value asks the node agent for a reboot (`kumo instance reboot` sets the time).
    public static let rebootAnnotation = "kumo.dev/reboot-requested"
    /// Annotation whose new value asks the agent to try a Failed instance again (`kumo instance start`).
    public static let startAnnotation = "kumo.dev/start-requested"

    /// VM image reference (kind `kernel` or `disk`): `name`, `name:tag` or `name@sha256:…`.
    public var image: String
    /// Flavor: virtual CPUs, 1...64 (default 1) and memory (default 256Mi); the scheduler reserves both.
    public var vcpus: Int?
    public var memory: MemoryQuantity?
    /// Size of a `disk` image's per-instance overlay (default: the image's size).
    public var diskSize: MemoryQuantity?
    /// Desired power state: false = stopped (`kumo instance stop`), nil/true = running.
    public var running: Bool?
    /// The node it is bound to.
    public var nodeName: String?
    /// Address and MAC (written by the binding; owned by `ipam`).
    public var network: NetworkAttachment?
    public var nodeSelector: [String: String]?
    public var ports: [ContainerPort]?
    /// User data, passed to the guest on the kernel command line (`kumo.userdata=<base64>`; kernel images).
    public var userData: String?
    /// SSH public keys, passed like user data (`kumo.sshkeys=<base64>`).
    public var sshAuthorizedKeys: [String]?

    public init(
        image: String, vcpus: Int? = nil, memory: MemoryQuantity? = nil, diskSize: MemoryQuantity? = nil,
        nodeName: String? = nil, network: NetworkAttachment? = nil, nodeSelector: [String: String]? = nil,
        ports: [ContainerPort]? = nil, userData: String? = nil, running: Bool? = nil, sshAuthorizedKeys: [String]? = nil
    ) {
        self.image = image
        self.vcpus = vcpus
        self.running = running
        self.sshAuthorizedKeys = sshAuthorizedKeys
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
        if let vcpus, !(1...64).contains(vcpus) {
            errors.append(FieldError("\(path).vcpus", "must be between 1 and 64"))
        }
        if let memory, !((16 << 20)...(1 << 40)).contains(memory.bytes) {
            errors.append(FieldError("\(path).memory", "must be between 16Mi and 1Ti"))
        }
        for (i, key) in (sshAuthorizedKeys ?? []).enumerated()
        where key.isEmpty || key.utf8.count > 16384 || key.contains("\n") {
            errors.append(FieldError("\(path).sshAuthorizedKeys[\(i)]", "must be one non-empty line of at most 16384 bytes"))
        }
        if let diskSize, !(1...(1 << 46)).contains(diskSize.bytes) {
            errors.append(FieldError("\(path).diskSize", "must be greater than 0 and no more than 64Ti"))
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
    public var mac: String?
    /// RFC 3339.
    public var startedAt: String?
    /// Progress of provisioning and boot, in order.
    public var steps: [InstanceStep]?
    /// The last lines of the serial console when the instance failed.
    public var consoleTail: String?
    /// The reboot request (annotation value) the agent last carried out.
    public var rebootHandled: String?

    public init(
        phase: InstancePhase? = nil, reason: String? = nil, message: String? = nil, accel: String? = nil,
        ip: String? = nil, startedAt: String? = nil, steps: [InstanceStep]? = nil, mac: String? = nil,
        consoleTail: String? = nil, rebootHandled: String? = nil
    ) {
        self.mac = mac
        self.consoleTail = consoleTail
        self.rebootHandled = rebootHandled
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
    case terminating = "Terminating"
    case unknown = "Unknown"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// One step of bringing an instance up (`scheduled`, `bound`, `image`, `port`, `dhcp-entry`, `tap`, `qemu`,
/// `lease`, `reachable`), with the component that did it (`scheduler`, `ipam`, `agent/images`, `agent/dnsmasq`,
/// `agent/network`, `agent/qemu`, `guest`).
public struct InstanceStep: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var component: String?
    /// `running`, `done` or `failed`.
    public var state: String
    public var startedAt: String?
    public var finishedAt: String?
    public var message: String?

    public init(
        name: String, state: String, startedAt: String? = nil, finishedAt: String? = nil, message: String? = nil,
        component: String? = nil
    ) {
        self.component = component
        self.name = name
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
    }
}
