/// A port a replica or instance listens on.
public struct ContainerPort: Codable, Sendable, Equatable, Hashable {
    /// Optional DNS-label name (unique within the list).
    public var name: String?
    /// 1...65535
    public var containerPort: Int
    /// Default TCP.
    public var `protocol`: PortProtocol?

    public init(name: String? = nil, containerPort: Int, protocol: PortProtocol? = nil) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
    }

    /// Each port in range, names DNS labels, no (port, protocol) or name twice.
    static func validate(_ ports: [ContainerPort]?, path: String) -> [FieldError] {
        guard let ports else { return [] }
        var errors: [FieldError] = []
        var seenPorts: Set<String> = []
        var seenNames: Set<String> = []
        for (i, p) in ports.enumerated() {
            let at = "\(path)[\(i)]"
            if let name = p.name {
                if let why = Names.validateDNSLabel(name) {
                    errors.append(FieldError("\(at).name", why))
                } else if !seenNames.insert(name).inserted {
                    errors.append(FieldError("\(at).name", "duplicate port name \"\(name)\""))
                }
            }
            if !SpecValidation.isPort(p.containerPort) {
                errors.append(FieldError("\(at).containerPort", "must be between 1 and 65535"))
            } else if !seenPorts.insert("\(p.containerPort)/\((p.protocol ?? .tcp).rawValue)").inserted {
                errors.append(
                    FieldError(
                        "\(at).containerPort",
                        "duplicate port \(p.containerPort)/\((p.protocol ?? .tcp).rawValue)"))
            }
        }
        return errors
    }
}

public enum PortProtocol: String, Codable, CaseIterable, Sendable, Hashable {
    case tcp = "TCP"
    case udp = "UDP"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}
