/// A machine that runs replicas and instances (cluster-scoped). Registered by its agent.
public typealias Node = Object<NodeSpec>

public struct NodeSpec: ResourceSpec {
    public typealias Status = NodeStatus
    public static var kind: Kind { .node }

    /// The node's /24 of the cluster CIDR (owned by `ipam`), e.g. `10.244.3.0/24`.
    public var podCIDR: String?
    /// Cordoned: the scheduler places no new work here.
    public var unschedulable: Bool?
    public var taints: [Taint]?

    public init(podCIDR: String? = nil, unschedulable: Bool? = nil, taints: [Taint]? = nil) {
        self.podCIDR = podCIDR
        self.unschedulable = unschedulable
        self.taints = taints
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let podCIDR {
            if let why = SpecValidation.cidrReason(podCIDR) {
                errors.append(FieldError("\(path).podCIDR", why))
            } else if let bits = podCIDR.split(separator: "/").last.flatMap({ Int($0) }), !(16...28).contains(bits) {
                errors.append(FieldError("\(path).podCIDR", "must be a /16 to /28 network"))
            }
        }
        var seen: Set<String> = []
        for (i, taint) in (taints ?? []).enumerated() {
            let at = "\(path).taints[\(i)]"
            if let why = MetadataValidation.labelKeyReason(taint.key) {
                errors.append(FieldError("\(at).key", why))
            }
            if let value = taint.value, let why = MetadataValidation.labelValueReason(value) {
                errors.append(FieldError("\(at).value", why))
            }
            if !seen.insert("\(taint.key)\u{0}\(taint.effect.rawValue)").inserted {
                errors.append(FieldError(at, "duplicate taint \(taint.key):\(taint.effect.rawValue)"))
            }
        }
        return errors
    }
}

/// Repels replicas that do not tolerate it.
public struct Taint: Codable, Sendable, Equatable, Hashable {
    /// Label-key syntax.
    public var key: String
    public var value: String?
    public var effect: TaintEffect

    public init(key: String, value: String? = nil, effect: TaintEffect) {
        self.key = key
        self.value = value
        self.effect = effect
    }
}

public enum TaintEffect: String, Codable, CaseIterable, Sendable, Hashable {
    case noSchedule = "NoSchedule"
    case preferNoSchedule = "PreferNoSchedule"
    case noExecute = "NoExecute"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

public struct NodeStatus: Codable, Sendable, Equatable {
    /// The agent's HTTP endpoint (the server proxies `state`, `logs`, `console` to it).
    public var agentURL: String?
    public var addresses: [String]?
    public var capacity: Resources?
    public var allocatable: Resources?
    /// Owned by the node lifecycle controller (`Ready`, …).
    public var conditions: [Condition]?
    /// Published by the agent; peers program routes, neighbours and FDB entries from it.
    public var overlay: NodeOverlay?
    public var info: NodeInfo?
    /// No longer written: agents acknowledge what their HAProxy serves with their lease (the server's lease table,
    /// `GET /api/v1/projects/P/services/S/loadbalancers`), since on a Node it reached every agent's node watch.
    /// Kept so that Nodes stored before still read.
    public var loadBalancer: NodeLoadBalancer?

    public init(
        agentURL: String? = nil, addresses: [String]? = nil, capacity: Resources? = nil,
        allocatable: Resources? = nil, conditions: [Condition]? = nil, overlay: NodeOverlay? = nil,
        info: NodeInfo? = nil
    ) {
        self.agentURL = agentURL
        self.addresses = addresses
        self.capacity = capacity
        self.allocatable = allocatable
        self.conditions = conditions
        self.overlay = overlay
        self.info = info
    }
}

/// What a node's HAProxy serves.
public struct NodeLoadBalancer: Codable, Sendable, Equatable, Hashable {
    /// `project/service` → the endpoints generation loaded in HAProxy.
    public var appliedGenerations: [String: Int]?
    /// When that config was loaded.
    public var appliedAt: String?

    public init(appliedGenerations: [String: Int]? = nil, appliedAt: String? = nil) {
        self.appliedGenerations = appliedGenerations
        self.appliedAt = appliedAt
    }
}

/// A node's VXLAN endpoint.
public struct NodeOverlay: Codable, Sendable, Equatable, Hashable {
    /// Underlay address other nodes send VXLAN traffic to.
    public var publicIP: String
    /// `02:` + the first 5 bytes of sha256(node name).
    public var vtepMAC: String
    /// `vxlan`.
    public var backend: String?

    public init(publicIP: String, vtepMAC: String, backend: String? = nil) {
        self.publicIP = publicIP
        self.vtepMAC = vtepMAC
        self.backend = backend
    }
}

public struct NodeInfo: Codable, Sendable, Equatable, Hashable {
    public var agentVersion: String?
    public var kernel: String?
    public var os: String?
    public var arch: String?

    public init(agentVersion: String? = nil, kernel: String? = nil, os: String? = nil, arch: String? = nil) {
        self.agentVersion = agentVersion
        self.kernel = kernel
        self.os = os
        self.arch = arch
    }
}
