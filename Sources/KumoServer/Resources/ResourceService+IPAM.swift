import Foundation
import KumoModel
import KumoStore

/// Store records that make IPAM choices unique: one key per node subnet (`/ipam/subnets/10.244.1.0-24` → node
/// name), created with a create-if-absent compare in the same transaction as the object that takes it.
public enum IPAMRecords {
    public static let subnetPrefix = "/ipam/subnets/"
    /// The manager that owns `spec.podCIDR` of nodes it assigned.
    public static let manager = "ipam"

    public static func subnetKey(_ net: IPv4Network) -> String {
        subnetPrefix + "\(net.address)-\(net.prefixLength)"
    }

    static func network(fromKey key: String) -> IPv4Network? {
        guard key.hasPrefix(subnetPrefix) else { return nil }
        return IPv4Network(String(key.dropFirst(subnetPrefix.count)).replacingOccurrences(of: "-", with: "/"))
    }
}

extension ResourceService {
    /// Gives a new Node its subnet: the one it asks for (`spec.podCIDR`, must lie in the cluster CIDR) or the next
    /// free one. Returns the record key to create with the node (the caller adds the compare) and whether IPAM
    /// chose it (then `ipam` owns the field).
    func reserveNodeSubnet(_ object: inout JSONValue, node: String) async throws(KumoError) -> (key: String, assigned: Bool) {
        if let requested = object["spec"]?["podCIDR"]?.stringValue {
            guard let net = IPv4Network(requested), net.prefixLength == ipam.nodePrefixLength,
                ipam.cluster.contains(net.first)
            else {
                throw KumoError(
                    .invalid,
                    "spec.podCIDR \(requested) must be a /\(ipam.nodePrefixLength) inside the cluster CIDR \(ipam.cluster)",
                    field: "spec.podCIDR")
            }
            return (IPAMRecords.subnetKey(net), false)
        }
        let page = try await kumo { try await store.list(prefix: IPAMRecords.subnetPrefix, startAfter: nil, limit: nil) }
        let used = Set(page.items.compactMap { IPAMRecords.network(fromKey: $0.key) })
        guard let net = ipam.nextNodeSubnet(used: used) else {
            throw KumoError(
                .unavailable,
                "no free node subnet left in the cluster CIDR \(ipam.cluster) (\(ipam.nodeSubnetCount) nodes at most)",
                field: "spec.podCIDR")
        }
        var spec = object["spec"]?.objectValue ?? [:]
        spec["podCIDR"] = .string(net.description)
        object["spec"] = .object(spec)
        return (IPAMRecords.subnetKey(net), true)
    }
}
