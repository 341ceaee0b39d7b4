/// A stable virtual IP load-balanced over the ready replicas its selector matches (project-scoped).
public typealias Service = Object<ServiceSpec>

public struct ServiceSpec: ResourceSpec {
    public typealias Status = ServiceStatus
    public static var kind: Kind { .service }

    /// Labels of the replicas to send traffic to (required, not empty).
    public var selector: [String: String]
    /// At least one; (port, protocol) and names unique.
    public var ports: [ServicePort]
    /// The VIP from the service CIDR (allocated by the control plane when absent).
    public var clusterIP: String?

    public init(selector: [String: String], ports: [ServicePort], clusterIP: String? = nil) {
        self.selector = selector
        self.ports = ports
        self.clusterIP = clusterIP
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if selector.isEmpty { errors.append(FieldError("\(path).selector", "must not be empty")) }
        errors += MetadataValidation.validateLabels(selector, path: "\(path).selector")
        if ports.isEmpty { errors.append(FieldError("\(path).ports", "must have at least one port")) }
        var seenPorts: Set<String> = []
        var seenNames: Set<String> = []
        for (i, p) in ports.enumerated() {
            let at = "\(path).ports[\(i)]"
            if let name = p.name {
                if let why = Names.validateDNSLabel(name) {
                    errors.append(FieldError("\(at).name", why))
                } else if !seenNames.insert(name).inserted {
                    errors.append(FieldError("\(at).name", "duplicate port name \"\(name)\""))
                }
            }
            let proto = (p.protocol ?? .tcp).rawValue
            if !SpecValidation.isPort(p.port) {
                errors.append(FieldError("\(at).port", "must be between 1 and 65535"))
            } else if !seenPorts.insert("\(p.port)/\(proto)").inserted {
                errors.append(FieldError("\(at).port", "duplicate port \(p.port)/\(proto)"))
            }
            if let t = p.targetPort, !SpecValidation.isPort(t) {
                errors.append(FieldError("\(at).targetPort", "must be between 1 and 65535"))
            }
        }
        if let clusterIP, !SpecValidation.isIPv4(clusterIP) {
            errors.append(FieldError("\(path).clusterIP", "must be an IPv4 address"))
        }
        return errors
    }
}

public struct ServicePort: Codable, Sendable, Equatable, Hashable {
    public var name: String?
    /// The port on the VIP, 1...65535.
    public var port: Int
    /// The replicas' port (default `port`).
    public var targetPort: Int?
    /// Default TCP.
    public var `protocol`: PortProtocol?

    public init(name: String? = nil, port: Int, targetPort: Int? = nil, protocol: PortProtocol? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.protocol = `protocol`
    }
}

public struct ServiceStatus: Codable, Sendable, Equatable {
    /// The replicas behind the VIP (written by the endpoints controller).
    public var endpoints: [Endpoint]?
    /// Increases with every endpoints change; nodes report the generation they have applied.
    public var generation: Int?

    public init(endpoints: [Endpoint]? = nil, generation: Int? = nil) {
        self.endpoints = endpoints
        self.generation = generation
    }
}

/// One backend of a service.
public struct Endpoint: Codable, Sendable, Equatable, Hashable {
    public var ip: String
    public var port: Int?
    /// Replica name.
    public var replica: String?
    /// Node name.
    public var node: String?
    public var ready: Bool?

    public init(ip: String, port: Int? = nil, replica: String? = nil, node: String? = nil, ready: Bool? = nil) {
        self.ip = ip
        self.port = port
        self.replica = replica
        self.node = node
        self.ready = ready
    }
}
