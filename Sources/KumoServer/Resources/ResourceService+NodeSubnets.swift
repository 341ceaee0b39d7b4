import Foundation
import KumoAPI
import KumoModel
import KumoStore

/// Node subnets after a node's creation: a change of `spec.podCIDR` moves its subnet record in the same
/// transaction (so no subnet is ever held twice), and a subnet freed by a deleted node goes to a node that
/// registered while the cluster CIDR was used up — its agent, waiting for one, takes it without a restart.
extension ResourceService {
    /// The subnet records an update of a Node changes: the new subnet (must lie in the cluster CIDR, be of the
    /// node subnet size and be free: created if absent) and the old one released.
    func nodeSubnetChanges(_ ref: ObjectRef, old: JSONValue, new: JSONValue) throws(KumoError) -> AdmissionRecords {
        guard ref.kind == .node else { return AdmissionRecords() }
        let from = old["spec"]?["podCIDR"]?.stringValue
        let to = new["spec"]?["podCIDR"]?.stringValue
        guard from != to else { return AdmissionRecords() }
        var records = AdmissionRecords()
        if let from, let net = IPv4Network(from) { records.operations.append(.delete(IPAMRecords.subnetKey(net))) }
        if let to {
            guard let net = IPv4Network(to), net.prefixLength == ipam.nodePrefixLength, ipam.cluster.contains(net.first) else {
                throw KumoError(
                    .invalid, "spec.podCIDR \(to) must be a /\(ipam.nodePrefixLength) inside the cluster CIDR \(ipam.cluster)",
                    field: "spec.podCIDR")
            }
            records.compares.append(.absent(IPAMRecords.subnetKey(net)))
            records.operations.append(.put(IPAMRecords.subnetKey(net), Array(ref.name.utf8)))
        }
        return records
    }

    /// A conflict on a subnet record, as the client should see it.
    func subnetRecordConflict(_ e: KumoError) async -> KumoError? {
        guard let key = e.field, key.hasPrefix(IPAMRecords.subnetPrefix) else { return nil }
        let holder = (try? await recordOwner(key)) ?? nil
        return KumoError(
            .conflict,
            "subnet \(IPAMRecords.network(fromKey: key)?.description ?? key) is already assigned to node \(holder ?? "another node")",
            field: "spec.podCIDR")
    }

    /// Hands free subnets to the nodes that have none (oldest first), each in one write owned by `ipam`, with a
    /// `SubnetAssigned` event. Called when a node is deleted and when the server starts. Returns the nodes served.
    @discardableResult
    public func assignFreedSubnets() async throws(KumoError) -> [String] {
        let prefix = StoreKeys.collectionPrefix(.node, project: nil)
        let page = try await kumo { try await store.list(prefix: prefix, startAfter: nil, limit: nil) }
        var waiting: [(createdAt: String, node: JSONValue)] = []
        for kv in page.items {
            let node = try ObjectCodec.decodeStored(kv.value, key: kv.key)
            guard node["spec"]?["podCIDR"] == nil, node["metadata"]?["deletionTimestamp"] == nil else { continue }
            waiting.append((node["metadata"]?["createdAt"]?.stringValue ?? "", node))
        }
        waiting.sort { $0.createdAt < $1.createdAt }
        var served: [String] = []
        for (_, node) in waiting {
            guard let name = node["metadata"]?["name"]?.stringValue else { continue }
            let ref = ObjectRef(.node, name: name)
            var assigned: String?
            for attempt in 0..<Self.maxAttempts {
                var probe = node
                do throws(KumoError) {
                    _ = try await reserveNodeSubnet(&probe, node: name, attempt: attempt)
                } catch where error.code == .unavailable {
                    return served  // still exhausted: the rest keep waiting
                }
                guard let cidr = probe["spec"]?["podCIDR"] else { break }
                do throws(KumoError) {
                    let result = try await modify(
                        ref, operation: "assign-subnet", precondition: nil, options: WriteOptions(manager: IPAMRecords.manager)
                    ) { current throws(KumoError) in
                        guard current["spec"]?["podCIDR"] == nil else { return current }  // got one meanwhile
                        var next = current
                        var spec = next["spec"]?.objectValue ?? [:]
                        spec["podCIDR"] = cidr
                        next["spec"] = .object(spec)
                        return next
                    }
                    if result.changed { assigned = cidr.stringValue }
                    break
                } catch where error.code == .conflict && error.field == "spec.podCIDR" {
                    continue  // another node took that subnet just now
                } catch where error.code == .notFound {
                    break  // deleted meanwhile
                }
            }
            guard let assigned else { continue }
            served.append(name)
            logger.notice("freed node subnet assigned", metadata: ["node": "\(name)", "podCIDR": "\(assigned)"])
            let event = EventFactory.make(
                regarding: ref, reason: "SubnetAssigned", type: "Normal", source: IPAMRecords.manager,
                message: "node \(name) got the freed pod subnet \(assigned); its agent takes it without a restart")
            _ = try? await store.commit(Txn(operations: [.put(event.key, event.bytes)]))
        }
        return served
    }
}
