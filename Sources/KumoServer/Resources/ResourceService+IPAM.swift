import Foundation
import KumoAPI
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
    func reserveNodeSubnet(_ object: inout JSONValue, node: String, attempt: Int = 0) async throws(KumoError) -> (
        key: String, assigned: Bool
    ) {
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
        // the first free subnet; after losing a race, a random free one so concurrent registrations spread out
        let choice: IPv4Network?
        if attempt == 0 {
            choice = ipam.nextNodeSubnet(used: used)
        } else {
            let free = (0..<ipam.nodeSubnetCount).lazy.compactMap { ipam.cluster.subnet($0, prefixLength: ipam.nodePrefixLength) }
                .filter { !used.contains($0) }
            choice = Array(free.prefix(64)).randomElement()
        }
        guard let net = choice else {
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

extension IPAMRecords {
    /// One key per handed-out address: `/ipam/addresses/10.244.1.5` → the object holding it.
    public static let addressPrefix = "/ipam/addresses/"

    public static func addressKey(_ ip: IPv4Address) -> String { addressPrefix + ip.description }

    /// The list prefix covering a node subnet's address records (exact for /24 and smaller subnets).
    static func addressListPrefix(_ subnet: IPv4Network) -> String {
        guard subnet.prefixLength >= 24 else { return addressPrefix }
        let o = subnet.address.octets
        return addressPrefix + "\(o[0]).\(o[1]).\(o[2])."
    }
}

extension ResourceService {
    /// Binds a Replica or Instance to a node in one store write: `spec.nodeName` (owned by `manager`, the
    /// scheduler) and `spec.network {ip, mac}` (owned by `ipam`) with an address from the node's subnet, its
    /// address record, and a history record. Concurrent binds never share an address: each creates the address
    /// record only if absent and the loser retries with another address.
    public func bind(
        _ ref: ObjectRef, toNode node: String, manager: String = "scheduler", annotations: [String: String] = [:]
    ) async throws(KumoError) -> StoredObject {
        guard ref.kind == .replica || ref.kind == .instance else {
            throw KumoError(.invalid, "only replicas and instances are bound to nodes", field: "kind")
        }
        let nodeRef = ObjectRef(.node, name: node)
        for attempt in 0..<Self.maxAttempts {
            guard let kv = try await kumo({ try await store.get(ref.storeKey) }) else {
                throw KumoError(.notFound, "\(ref) not found")
            }
            let current = try ObjectCodec.decodeStored(kv.value, key: kv.key)
            if let bound = current["spec"]?["nodeName"]?.stringValue, current["spec"]?["network"] != nil {
                guard bound == node else {
                    throw KumoError(.conflict, "\(ref) is already bound to node \(bound)", field: "spec.nodeName")
                }
                return StoredObject(object: ObjectCodec.served(current, revision: kv.modRevision), revision: kv.modRevision, changed: false)
            }
            guard let nodeKV = try await kumo({ try await store.get(nodeRef.storeKey) }) else {
                throw KumoError(.notFound, "node \"\(node)\" not found", field: "spec.nodeName")
            }
            let nodeObject = try ObjectCodec.decodeStored(nodeKV.value, key: nodeKV.key)
            guard let cidr = nodeObject["spec"]?["podCIDR"]?.stringValue, let subnet = IPv4Network(cidr) else {
                throw KumoError(.unavailable, "node \"\(node)\" has no pod subnet yet", field: "spec.nodeName")
            }
            let page = try await kumo {
                try await store.list(prefix: IPAMRecords.addressListPrefix(subnet), startAfter: nil, limit: nil)
            }
            let used = Set(page.items.compactMap { IPv4Address(String($0.key.dropFirst(IPAMRecords.addressPrefix.count))) })
                .filter { subnet.contains($0) }
            // start at a different place on each attempt so concurrent binders spread out instead of colliding
            guard let range = IPAM.assignable(in: subnet) else {
                throw KumoError(.unavailable, "node \"\(node)\" has a pod subnet \(subnet) too small to hand out addresses", field: "spec.network")
            }
            let start = IPv4Address(range.lowerBound + UInt32.random(in: 0...(range.upperBound - range.lowerBound)))
            guard let ip = IPAM.nextAddress(in: subnet, used: used, after: attempt == 0 ? nil : start) else {
                throw KumoError(.unavailable, "node \"\(node)\" has no free address left in \(subnet)", field: "spec.network")
            }
            var desired = current
            // the binder's own status fields (e.g. Pending/Unschedulable from the scheduler) end with the binding,
            // so the agent that runs the replica owns its status from here on
            for (field, owner) in ownersOf(current) where owner == manager && field.hasPrefix("status.") {
                FieldOwnership.remove(field, from: &desired)
            }
            var spec = desired["spec"]?.objectValue ?? [:]
            spec["nodeName"] = .string(node)
            spec["network"] = .object(["ip": .string(ip.description), "mac": .string(ip.mac())])
            desired["spec"] = .object(spec)
            if !annotations.isEmpty, var meta = desired["metadata"]?.objectValue {
                var map = meta["annotations"]?.objectValue ?? [:]
                for (k, v) in annotations { map[k] = .string(v) }
                meta["annotations"] = .object(map)
                desired["metadata"] = .object(meta)
            }
            var object = try ref.kind.canonicalize(ObjectCodec.strippingServerFields(desired))
            var owners = ownersOf(current).filter { !($0.value == manager && $0.key.hasPrefix("status.")) }
            owners["spec.nodeName"] = manager
            owners["spec.network"] = IPAMRecords.manager
            for k in annotations.keys { owners["metadata.annotations." + k] = manager }
            if var meta = object["metadata"]?.objectValue {
                meta["uid"] = current["metadata"]?["uid"]
                meta["createdAt"] = current["metadata"]?["createdAt"]
                meta["managedFields"] = .object(owners.mapValues { .string($0) })
                // a deletion requested before the binding lands stays requested (the node's agent then stops it)
                meta["deletionTimestamp"] = current["metadata"]?["deletionTimestamp"]
                object["metadata"] = .object(meta)
            }
            let entry = HistoryEntry(
                time: ObjectCodec.now(), manager: manager, operation: "bind",
                patch: JSONPatch.diff(
                    from: ObjectCodec.withoutManagedFields(current), to: ObjectCodec.withoutManagedFields(object)))
            let addressKey = IPAMRecords.addressKey(ip)
            let txn = Txn(
                compares: [
                    .modRevision(ref.storeKey, equals: kv.modRevision), .absent(addressKey), .exists(nodeRef.storeKey),
                ],
                operations: [
                    .put(ref.storeKey, object.serialized()), .put(addressKey, Array(ref.storeKey.utf8)),
                    .put(HistoryStore.key(for: ref), HistoryStore.encode(entry)),
                ])
            do {
                let revision = try await store.commit(txn)
                return StoredObject(object: ObjectCodec.served(object, revision: revision), revision: revision)
            } catch let e as KumoError where e.code == .conflict {
                if e.field == nodeRef.storeKey {
                    throw KumoError(.notFound, "node \"\(node)\" was deleted", field: "spec.nodeName")
                }
                continue  // the replica changed or the address was just taken: try again
            } catch {
                throw storeError(error, "bind \(ref)")
            }
        }
        throw KumoError(.conflict, "failed to bind \(ref): too many concurrent changes; retry")
    }
}

extension ResourceService {
    /// A change of a bound Replica's or Instance's `spec.network.ip` (an admin with `?force=true`: ipam owns it)
    /// moves its address record in the same transaction as the object: the new address must be free — never
    /// handed out twice — and the old one is released.
    func addressChanges(_ ref: ObjectRef, old: JSONValue, new: JSONValue) -> AdmissionRecords {
        guard ref.kind == .replica || ref.kind == .instance else { return AdmissionRecords() }
        func ip(_ o: JSONValue) -> IPv4Address? { o["spec"]?["network"]?["ip"]?.stringValue.flatMap { IPv4Address($0) } }
        let (from, to) = (ip(old), ip(new))
        guard from != to else { return AdmissionRecords() }
        var records = AdmissionRecords()
        if let from { records.operations.append(.delete(IPAMRecords.addressKey(from))) }
        if let to {
            records.compares.append(.absent(IPAMRecords.addressKey(to)))
            records.operations.append(.put(IPAMRecords.addressKey(to), Array(ref.storeKey.utf8)))
        }
        return records
    }
}
