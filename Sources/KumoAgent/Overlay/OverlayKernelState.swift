import KumoModel

/// What the kernel has on the overlay device right now, as read by `OverlayKernel.read` (IPv4 routes of the main
/// table, IPv4 neighbours, FDB entries). Kept close to what `ip -j` / `bridge -j` print — gateways, flags, NUD
/// states, metrics — because the diff has to tell "right dst, wrong gateway" from "missing", and "permanent"
/// from a kernel-made entry it must leave alone.
public struct OverlayKernelState: Sendable, Hashable {
    public struct Route: Sendable, Hashable, CustomStringConvertible {
        public var dst: IPv4Network
        public var gateway: IPv4Address?
        public var onlink: Bool
        /// 0 when `ip` prints none; `route replace` without a metric only ever touches the metric-0 route.
        public var metric: Int
        /// `proto kernel`: made by the kernel for an address on the device, never ours to delete.
        public var kernelMade: Bool

        public init(dst: IPv4Network, gateway: IPv4Address? = nil, onlink: Bool = false, metric: Int = 0, kernelMade: Bool = false) {
            self.dst = dst
            self.gateway = gateway
            self.onlink = onlink
            self.metric = metric
            self.kernelMade = kernelMade
        }

        public var description: String {
            var s = "route \(dst)"
            if let gateway { s += " via \(gateway)" } else { s += " scope link" }
            if onlink { s += " onlink" }
            if metric != 0 { s += " metric \(metric)" }
            if kernelMade { s += " proto kernel" }
            return s
        }
    }

    public struct Neighbor: Sendable, Hashable, CustomStringConvertible {
        public var ip: IPv4Address
        /// Absent for INCOMPLETE / FAILED entries.
        public var mac: String?
        /// NUD states as printed (`PERMANENT`, `REACHABLE`, `STALE`, `FAILED`, …).
        public var states: [String]

        public init(ip: IPv4Address, mac: String?, states: [String]) {
            self.ip = ip
            self.mac = mac?.lowercased()
            self.states = states
        }

        public var permanent: Bool { states.contains("PERMANENT") }

        public var description: String {
            "neighbor \(ip) lladdr \(mac ?? "none") \(states.isEmpty ? "NONE" : states.joined(separator: ","))"
        }
    }

    public struct FDBEntry: Sendable, Hashable, CustomStringConvertible {
        public var mac: String
        /// The remote VTEP; absent on entries that are not remotes (a bridge port's own address).
        public var dst: IPv4Address?
        public var permanent: Bool
        /// Entry of a bridge the device is enslaved to (`master`), not of the VXLAN device itself (`self`).
        public var master: Bool

        public init(mac: String, dst: IPv4Address?, permanent: Bool = true, master: Bool = false) {
            self.mac = mac.lowercased()
            self.dst = dst
            self.permanent = permanent
            self.master = master
        }

        /// The entries the overlay owns: unicast remotes of the device itself. The all-zero flood entries,
        /// multicast addresses and master entries are someone else's (or the kernel's) and never diffed.
        public var isOverlayRemote: Bool {
            guard !master, dst != nil, OverlayPeer.isUnicastMAC(mac) else { return false }
            return true
        }

        public var description: String {
            "fdb \(mac)" + (dst.map { " dst \($0)" } ?? "") + (permanent ? " permanent" : "") + (master ? " master" : "")
        }
    }

    public var routes: [Route]
    public var neighbors: [Neighbor]
    public var fdb: [FDBEntry]

    public init(routes: [Route] = [], neighbors: [Neighbor] = [], fdb: [FDBEntry] = []) {
        self.routes = routes
        self.neighbors = neighbors
        self.fdb = fdb
    }

    /// Number of entries read (for timing logs).
    public var count: Int { routes.count + neighbors.count + fdb.count }
}
