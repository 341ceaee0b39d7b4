import KumoModel

/// One static DHCP reservation: a line `MAC,name,IP` of dnsmasq's `--dhcp-hostsfile`. dnsmasq answers only the
/// MACs listed here (`static` range), so a VM gets exactly the address the control plane bound it to.
public struct DHCPHost: Sendable, Hashable, Codable {
    /// Lower-case `aa:bb:cc:dd:ee:ff`.
    public var mac: String
    /// The guest's host name (DHCP option 12): a DNS label.
    public var name: String
    public var ip: IPv4Address

    /// Checks the MAC and name (they end up in a file dnsmasq parses) and normalises the MAC to lower case.
    public init(mac: String, name: String, ip: IPv4Address) throws(KumoError) {
        let lower = mac.lowercased()
        guard Self.isMAC(lower) else {
            throw KumoError(.invalid, "invalid DHCP host MAC \"\(mac)\": expected aa:bb:cc:dd:ee:ff", field: "mac")
        }
        if let why = Names.validateDNSLabel(name) {
            throw KumoError(.invalid, "invalid DHCP host name \"\(name)\": \(why)", field: "name")
        }
        self.mac = lower
        self.name = name
        self.ip = ip
    }

    /// The hostsfile line.
    public var line: String { "\(mac),\(name),\(ip)" }

    static func isMAC(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }
}
