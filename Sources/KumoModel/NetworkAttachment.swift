/// The address a replica or instance is bound to (written by the control plane when it binds: owned by
/// `ipam`).
public struct NetworkAttachment: Codable, Sendable, Equatable, Hashable {
    /// IPv4 address inside the node's pod CIDR.
    public var ip: String
    /// `02:6b:…` for instances.
    public var mac: String

    public init(ip: String, mac: String) {
        self.ip = ip
        self.mac = mac
    }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if !SpecValidation.isIPv4(ip) { errors.append(FieldError("\(path).ip", "must be an IPv4 address")) }
        if !SpecValidation.isMAC(mac) {
            errors.append(FieldError("\(path).mac", "must be a MAC address like 02:6b:00:00:00:01"))
        }
        return errors
    }
}
