/// Address management, the pure part: which node subnet and which address to hand out next, given what is taken.
/// The control plane makes the choice stick by writing a record per subnet and per address with a
/// create-if-absent compare in the same store transaction as the binding, so two concurrent binds can never get
/// the same address (the loser retries with the next one).
public struct IPAM: Sendable, Equatable {
    /// The cluster's pod network (default 10.244.0.0/16).
    public var cluster: IPv4Network
    /// Size of each node's subnet (default /24).
    public var nodePrefixLength: Int

    public static let defaultClusterCIDR = "10.244.0.0/16"

    /// Service VIPs (default 10.96.0.0/16).
    public var services: IPv4Network

    public static let defaultServiceCIDR = "10.96.0.0/16"

    public init(cluster: IPv4Network, nodePrefixLength: Int = 24, services: IPv4Network = IPv4Network(defaultServiceCIDR)!) {
        self.cluster = cluster
        self.nodePrefixLength = nodePrefixLength
        self.services = services
    }

    /// VIPs a service may get: all but the network address, `.1` (kept for a future gateway) and broadcast.
    public var assignableVIPs: ClosedRange<UInt32> { (services.first.value + 2)...(services.last.value - 1) }

    /// A free VIP: the first at or after `start` (wrapping), nil when the service CIDR is used up.
    public func nextVIP(used: Set<IPv4Address>, after start: IPv4Address? = nil) -> IPv4Address? {
        let range = assignableVIPs
        let count = Int(range.upperBound - range.lowerBound) + 1
        var offset = 0
        if let start, range.contains(start.value) { offset = Int(start.value - range.lowerBound) + 1 }
        for i in 0..<count {
            let candidate = IPv4Address(range.lowerBound + UInt32((offset + i) % count))
            if !used.contains(candidate) { return candidate }
        }
        return nil
    }

    /// How many node subnets the cluster holds.
    public var nodeSubnetCount: Int { 1 << (nodePrefixLength - cluster.prefixLength) }

    /// The first node subnet not in `used`, nil when the cluster CIDR is exhausted.
    public func nextNodeSubnet(used: Set<IPv4Network>) -> IPv4Network? {
        for i in 0..<nodeSubnetCount {
            if let s = cluster.subnet(i, prefixLength: nodePrefixLength), !used.contains(s) { return s }
        }
        return nil
    }

    /// Addresses replicas and instances may get in a node subnet: `.0` is the node's overlay (VTEP) address, `.1`
    /// the bridge gateway, the last the broadcast address; everything between.
    /// A subnet smaller than a /29 has nothing to hand out (and a /31 or /32 — a node's `podCIDR` is client
    /// input — would make this range invalid): empty then.
    public static func assignable(in subnet: IPv4Network) -> ClosedRange<UInt32>? {
        guard subnet.prefixLength <= 29 else { return nil }
        return (subnet.first.value + 2)...(subnet.last.value - 1)
    }

    public static func gateway(of subnet: IPv4Network) -> IPv4Address { IPv4Address(subnet.first.value + 1) }

    /// The first free assignable address at or after `start` (wrapping), nil when the subnet is full. Starting
    /// after the last handed-out address avoids reusing a just-released address at once.
    public static func nextAddress(in subnet: IPv4Network, used: Set<IPv4Address>, after start: IPv4Address? = nil)
        -> IPv4Address?
    {
        guard let range = assignable(in: subnet) else { return nil }
        let count = Int(range.upperBound - range.lowerBound) + 1
        var offset = 0
        if let start, range.contains(start.value) { offset = Int(start.value - range.lowerBound) + 1 }
        for i in 0..<count {
            let candidate = IPv4Address(range.lowerBound + UInt32((offset + i) % count))
            if !used.contains(candidate) { return candidate }
        }
        return nil
    }
}
