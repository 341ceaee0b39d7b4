import KumoModel

/// One kernel entry on the VXLAN device that a peer needs. Entries carry no device name: they are always about
/// the overlay device, which the plan names when it renders batch lines.
public enum OverlayEntry: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `ip route replace <dst> via <via> dev kumo.1 onlink`
    case route(dst: IPv4Network, via: IPv4Address)
    /// `ip neigh replace <ip> lladdr <mac> dev kumo.1 nud permanent`
    case neighbor(ip: IPv4Address, mac: String)
    /// `bridge fdb replace <mac> dev kumo.1 dst <dst> self permanent`
    case fdb(mac: String, dst: IPv4Address)

    /// What sort of entry, for events and counters (`kumo_overlay_repairs_total{kind=…}`).
    public enum Kind: String, Sendable, Hashable, Comparable, CaseIterable {
        case route, neighbor, fdb

        public static func < (a: Kind, b: Kind) -> Bool { a.order < b.order }
        var order: Int {
            switch self {
            case .route: 0
            case .neighbor: 1
            case .fdb: 2
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .route: .route
        case .neighbor: .neighbor
        case .fdb: .fdb
        }
    }

    /// Short and stable, for events, logs and the node's reported state: `route 10.244.2.0/24 via 10.244.2.0`,
    /// `neighbor 10.244.2.0 lladdr 02:…`, `fdb 02:… dst 192.0.2.162`.
    public var description: String {
        switch self {
        case .route(let dst, let via): "route \(dst) via \(via)"
        case .neighbor(let ip, let mac): "neighbor \(ip) lladdr \(mac)"
        case .fdb(let mac, let dst): "fdb \(mac) dst \(dst)"
        }
    }

    /// The batch line that makes this entry true whatever the kernel has now (`replace` is idempotent, so
    /// re-applying after a partial failure is safe). Route and neighbour lines are for `ip -batch`, FDB lines
    /// for `bridge -batch` (`ip` has no fdb object).
    public func replaceLine(device: String) -> String {
        switch self {
        case .route(let dst, let via): "route replace \(dst) via \(via) dev \(device) onlink"
        case .neighbor(let ip, let mac): "neigh replace \(ip) lladdr \(mac) dev \(device) nud permanent"
        case .fdb(let mac, let dst): "fdb replace \(mac) dev \(device) dst \(dst) self permanent"
        }
    }

    /// Deterministic order (kind, then address or MAC) so plans, golden files and logs never depend on Set order.
    public static func < (a: OverlayEntry, b: OverlayEntry) -> Bool {
        if a.kind != b.kind { return a.kind < b.kind }
        switch (a, b) {
        case (.route(let d1, let v1), .route(let d2, let v2)):
            return (d1.address.value, d1.prefixLength, v1.value) < (d2.address.value, d2.prefixLength, v2.value)
        case (.neighbor(let i1, let m1), .neighbor(let i2, let m2)):
            return (i1.value, m1) < (i2.value, m2)
        case (.fdb(let m1, let d1), .fdb(let m2, let d2)):
            return (m1, d1.value) < (m2, d2.value)
        default:
            return false
        }
    }
}
