import KumoModel

/// The pure core of the overlay: which entries the device should have (`desired`) and the smallest set of
/// changes that gets the kernel there (`plan`). No I/O — `OverlayKernel` reads and applies around it — so every
/// drift case is tested as a value (golden files under Tests/KumoAgentTests/Golden/overlay-*.txt).
public enum OverlayDiff {
    /// Three entries for every peer except `localNode`. Conflicting peers (an IPAM or registration bug: two
    /// nodes claiming overlapping pod CIDRs or the same VTEP MAC) are resolved by node name, first wins, so the
    /// result never depends on input order and the kernel never flaps between two gateways for one /24. A peer
    /// whose CIDR overlaps the local node's is always dropped: `route replace` of our own /24 onto `kumo.1`
    /// would replace `kumo0`'s connected route and cut off the local pods.
    public static func desired(peers: [OverlayPeer], localNode: String? = nil) -> Set<OverlayEntry> {
        var claimedCIDRs: [IPv4Network] = []
        var claimedMACs: Set<String> = []
        if let localNode, let local = peers.first(where: { $0.node == localNode }) {
            claimedCIDRs.append(local.podCIDR)
            claimedMACs.insert(local.vtepMAC)
        }
        var entries: Set<OverlayEntry> = []
        for peer in peers.sorted(by: { $0.node < $1.node }) where peer.node != localNode {
            if claimedCIDRs.contains(where: { overlaps($0, peer.podCIDR) }) || claimedMACs.contains(peer.vtepMAC) {
                continue
            }
            claimedCIDRs.append(peer.podCIDR)
            claimedMACs.insert(peer.vtepMAC)
            entries.formUnion(peer.entries)
        }
        return entries
    }

    /// The changes that make `actual` match `desired` on `device`:
    /// - missing or wrong entries → `replace` (right dst via a wrong gateway, or without `onlink`; a neighbour
    ///   with another lladdr or not PERMANENT; an FDB remote for the right MAC with another dst);
    /// - entries nothing desired explains → delete, but only what is plainly ours: routes whose dst lies inside
    ///   `clusterCIDR` (never `localSubnet`, never `proto kernel`), PERMANENT neighbours (others are the
    ///   kernel's own resolution attempts), unicast FDB remotes of the device (never the all-zero flood entry).
    /// Everything is on `device` because `actual` was read with `dev <device>`.
    public static func plan(
        desired: Set<OverlayEntry>, actual: OverlayKernelState, device: String, clusterCIDR: IPv4Network,
        localSubnet: IPv4Network? = nil
    ) -> OverlayPlan {
        var wantRoutes: [IPv4Network: IPv4Address] = [:]
        var wantNeighbors: [IPv4Address: String] = [:]
        var wantFDB: [String: IPv4Address] = [:]
        for entry in desired.sorted() {
            switch entry {
            case .route(let dst, let via): wantRoutes[dst] = wantRoutes[dst] ?? via
            case .neighbor(let ip, let mac): wantNeighbors[ip] = wantNeighbors[ip] ?? mac.lowercased()
            case .fdb(let mac, let dst): wantFDB[mac.lowercased()] = wantFDB[mac.lowercased()] ?? dst
            }
        }
        var replaces: [OverlayPlan.Repair] = []
        var routeDeletes: [OverlayPlan.Repair] = []
        var neighborDeletes: [OverlayPlan.Repair] = []
        var fdbReplaces: [OverlayPlan.Repair] = []
        var fdbDeletes: [OverlayPlan.Repair] = []

        // Routes: the metric-0 route for a desired dst must be "via <.0> onlink"; other metrics of that dst and
        // undesired dsts inside the cluster CIDR go.
        // Indexed once, so a plan over hundreds of peers stays linear.
        var primaryRoutes: [IPv4Network: OverlayKernelState.Route] = [:]
        for route in actual.routes where route.metric == 0 && primaryRoutes[route.dst] == nil {
            primaryRoutes[route.dst] = route
        }
        var neighborsByIP: [IPv4Address: OverlayKernelState.Neighbor] = [:]
        for neighbor in actual.neighbors where neighborsByIP[neighbor.ip] == nil { neighborsByIP[neighbor.ip] = neighbor }

        for (dst, via) in wantRoutes.sorted(by: { $0.key.address < $1.key.address }) {
            let entry = OverlayEntry.route(dst: dst, via: via)
            let current = primaryRoutes[dst]
            if let current {
                if current.gateway != via || !current.onlink {
                    replaces.append(repair(entry, .wrong, found: current.description, device: device))
                }
            } else {
                replaces.append(repair(entry, .missing, device: device))
            }
        }
        for route in actual.routes.sorted(by: routeOrder) where !route.kernelMade && route.dst != localSubnet {
            let explained = wantRoutes[route.dst] != nil && route.metric == 0
            guard !explained, inside(route.dst, clusterCIDR) else { continue }
            routeDeletes.append(
                OverlayPlan.Repair(
                    kind: .route, reason: .extra, entry: route.description,
                    line: "route del \(route.dst) dev \(device)" + (route.metric != 0 ? " metric \(route.metric)" : "")))
        }

        // Neighbours: one per IP on a device.
        for (ip, mac) in wantNeighbors.sorted(by: { $0.key < $1.key }) {
            let entry = OverlayEntry.neighbor(ip: ip, mac: mac)
            if let current = neighborsByIP[ip] {
                if current.mac != mac || !current.permanent {
                    replaces.append(repair(entry, .wrong, found: current.description, device: device))
                }
            } else {
                replaces.append(repair(entry, .missing, device: device))
            }
        }
        for neighbor in actual.neighbors.sorted(by: { $0.ip < $1.ip })
        where neighbor.permanent && wantNeighbors[neighbor.ip] == nil {
            neighborDeletes.append(
                OverlayPlan.Repair(
                    kind: .neighbor, reason: .extra, entry: neighbor.description,
                    line: "neigh del \(neighbor.ip) dev \(device)"))
        }

        // FDB: a MAC may have several remotes (`bridge fdb append`); keep the desired one, or replace the first
        // and delete the rest. Deletes name the remote, so they never take a correct remote along.
        let remotes = Dictionary(grouping: actual.fdb.filter(\.isOverlayRemote), by: \.mac)
        for (mac, dst) in wantFDB.sorted(by: { $0.key < $1.key }) {
            let entry = OverlayEntry.fdb(mac: mac, dst: dst)
            let current = remotes[mac] ?? []
            var keep: OverlayKernelState.FDBEntry?
            if let good = current.first(where: { $0.dst == dst && $0.permanent }) {
                keep = good
            } else if let first = current.first {
                fdbReplaces.append(repair(entry, .wrong, found: first.description, device: device))
                keep = first
            } else {
                fdbReplaces.append(repair(entry, .missing, device: device))
            }
            for other in current where other != keep {
                fdbDeletes.append(fdbDelete(other, device: device))
            }
        }
        for (mac, list) in remotes.sorted(by: { $0.key < $1.key }) where wantFDB[mac] == nil {
            for other in list { fdbDeletes.append(fdbDelete(other, device: device)) }
        }

        return OverlayPlan(device: device, repairs: replaces + routeDeletes + neighborDeletes + fdbReplaces + fdbDeletes)
    }

    static func repair(_ entry: OverlayEntry, _ reason: OverlayPlan.Reason, found: String? = nil, device: String)
        -> OverlayPlan.Repair
    {
        OverlayPlan.Repair(
            kind: entry.kind, reason: reason, entry: entry.description, found: found,
            line: entry.replaceLine(device: device))
    }

    static func fdbDelete(_ e: OverlayKernelState.FDBEntry, device: String) -> OverlayPlan.Repair {
        let dst = e.dst.map { " dst \($0)" } ?? ""
        return OverlayPlan.Repair(
            kind: .fdb, reason: .extra, entry: e.description, line: "fdb del \(e.mac) dev \(device)\(dst) self")
    }

    static func routeOrder(_ a: OverlayKernelState.Route, _ b: OverlayKernelState.Route) -> Bool {
        (a.dst.address.value, a.dst.prefixLength, a.metric) < (b.dst.address.value, b.dst.prefixLength, b.metric)
    }

    /// Whether `net` lies wholly inside `outer`.
    static func inside(_ net: IPv4Network, _ outer: IPv4Network) -> Bool {
        net.prefixLength >= outer.prefixLength && outer.contains(net.address)
    }

    static func overlaps(_ a: IPv4Network, _ b: IPv4Network) -> Bool {
        a.contains(b.address) || b.contains(a.address)
    }
}
