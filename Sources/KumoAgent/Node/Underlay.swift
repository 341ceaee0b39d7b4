import KumoModel
import KumoSystem

/// The node's underlay interface: the one holding the address it advertises (VXLAN packets leave through it),
/// and its MTU (the overlay's is 50 less).
struct Underlay: Sendable {
    var device: String
    var mtu: Int

    static func find(address: String, hostNetns: String?) async throws(KumoError) -> Underlay {
        var argv = ["ip"]
        if let hostNetns { argv += ["-n", hostNetns] }
        let out = try await Command().check(argv + ["-j", "addr", "show"])
        let links = try JSONValue(parsing: Array(out.utf8)).arrayValue ?? []
        for link in links {
            let addrs = link["addr_info"]?.arrayValue ?? []
            if addrs.contains(where: { $0["local"]?.stringValue == address }), let name = link["ifname"]?.stringValue {
                return Underlay(device: name, mtu: Int(link["mtu"]?.numberValue ?? 1500))
            }
        }
        throw KumoError(
            .invalid, "no interface holds the advertised address \(address): pass --advertise-address with one of this node's addresses",
            field: "advertise-address")
    }
}
