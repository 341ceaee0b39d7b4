/// What `/metrics` exports about dnsmasq.
public struct DnsmasqMetricsSnapshot: Sendable, Equatable {
    public var messages: [String: Int]
    public var leases: Int
    public var hosts: Int
    public var records: Int
    public var restarts: Int
    public var rotations: Int
    public var running: Bool
}
