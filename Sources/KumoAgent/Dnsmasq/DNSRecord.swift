import KumoModel

/// One name → IPv4 answer dnsmasq serves (a line `IP name…` of its `--addn-hosts` file), e.g.
/// `web.demo.kumo → 10.96.0.12` for a service.
public struct DNSRecord: Sendable, Hashable, Codable {
    /// A DNS name (labels separated by dots, lower case).
    public var name: String
    public var ip: IPv4Address

    public init(name: String, ip: IPv4Address) throws(KumoError) {
        let lower = name.lowercased()
        if let why = Names.validateDNSSubdomain(lower) {
            throw KumoError(.invalid, "invalid DNS record name \"\(name)\": \(why)", field: "name")
        }
        self.name = lower
        self.ip = ip
    }
}
