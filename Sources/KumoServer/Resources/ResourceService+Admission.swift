import Foundation
import KumoAPI
import KumoModel
import KumoStore

/// What one write attempt of a kind adds to its transaction besides the object: store records reserved (each
/// with a create-if-absent compare, so no IPAM choice is ever made twice) or freed, events, and the fields the
/// server chose for the object with the manager that owns them.
struct AdmissionRecords {
    var compares: [Compare] = []
    var operations: [KumoStore.Operation] = []
    var owners: [String: String] = [:]
}

/// How a lost create-if-absent race on a record ends: the client's error, or another attempt (pick again).
enum RecordConflict {
    case fail(KumoError)
    case retry
}

/// Per-kind admission: everything a kind's writes do beyond the generic create/modify/delete loop, dispatched here
/// so that loop has no kind-specific branches.
///
/// - Node: a subnet record on create (or, the cluster CIDR used up, none and a `SubnetExhausted` event); a
///   changed `spec.podCIDR` moves it; an overlay address another node publishes is refused; on delete the subnet
///   is freed and handed to a node waiting for one.
/// - Service: VIP and external-port records on create; a changed external port moves its record, the VIP
///   stays; both freed on delete.
/// - Replica, Instance: the address record (reserved by `bind`) moves with `spec.network.ip` and is freed on
///   delete.
/// - Project: its contents are deleted (or the delete refused) first.
/// - Secret: values are sealed and history redacted by the codec calls every write makes (`+Secrets`).
extension ResourceService {
    /// A new object: the records it reserves. May fill in fields (`object`) the server chooses.
    func admitCreate(_ ref: ObjectRef, _ object: inout JSONValue, canonical: JSONValue, attempt: Int) async throws(KumoError)
        -> AdmissionRecords
    {
        switch ref.kind {
        case .node: return try await admitNewNode(ref, &object, canonical: canonical, attempt: attempt)
        case .service:
            let (reservations, assigned) = try await reserveServiceAddresses(&object, ref: ref, attempt: attempt)
            var records = reservations
            if assigned { records.owners["spec.clusterIP"] = IPAMRecords.manager }
            return records
        default: return AdmissionRecords()
        }
    }

    /// A lost race on a record `admitCreate` reserved (nil: not one of them).
    func createRecordConflict(_ e: KumoError, canonical: JSONValue) async -> RecordConflict? {
        if let field = e.field, field.hasPrefix(IPAMRecords.subnetPrefix) {
            if canonical["spec"]?["podCIDR"]?.stringValue != nil {
                return .fail(
                    KumoError(
                        .conflict, "spec.podCIDR \(canonical["spec"]?["podCIDR"]?.stringValue ?? "") is already assigned to another node",
                        field: "spec.podCIDR"))
            }
            return .retry  // another node took that subnet just now: pick the next
        }
        if let field = e.field, field.hasPrefix(IPAMRecords.vipPrefix) {
            if let asked = canonical["spec"]?["clusterIP"]?.stringValue {
                return .fail(KumoError(.conflict, "spec.clusterIP \(asked) is already used by another service", field: "spec.clusterIP"))
            }
            return .retry  // another service took that VIP just now: pick another
        }
        if let mapped = await serviceRecordConflict(e) { return .fail(mapped) }
        return nil
    }

    /// A changed object (before field ownership is checked): the records that move with it. May restore fields
    /// the server keeps (`object`).
    func admitChange(_ ref: ObjectRef, old current: JSONValue, new object: inout JSONValue) async throws(KumoError)
        -> AdmissionRecords
    {
        switch ref.kind {
        case .service: return try await serviceChanges(ref, old: current, new: &object)
        case .replica, .instance: return addressChanges(ref, old: current, new: object)
        case .node: return try nodeSubnetChanges(ref, old: current, new: object)
        default: return AdmissionRecords()
        }
    }

    /// A change that will be written (not a no-op): refused if it collides with another object.
    func refuseConflictingChange(_ ref: ObjectRef, old current: JSONValue, new object: JSONValue, manager: String)
        async throws(KumoError)
    {
        if ref.kind == .node { try await refuseOverlayAddressCollision(ref, old: current, new: object, manager: manager) }
    }

    /// A lost race on a record `admitChange` moved, as the client should see it (nil: not one of them).
    func changeRecordConflict(_ e: KumoError) async -> KumoError? {
        if let mapped = await serviceRecordConflict(e) { return mapped }
        if let mapped = await subnetRecordConflict(e) { return mapped }
        return nil
    }

    /// Before an object is deleted (a Project: its contents, or a refusal while it holds any unless `cascade`).
    func admitDelete(_ ref: ObjectRef, cascade: Bool, options: WriteOptions) async throws(KumoError) {
        if ref.kind == .project {
            try await deleteProjectContents(ref.name, cascade: cascade, options: options)
        }
    }

    /// The records a deleted object frees, in the same transaction.
    func releasedRecords(_ ref: ObjectRef, _ stored: JSONValue) -> [KumoStore.Operation] {
        switch ref.kind {
        case .node:
            guard let cidr = stored["spec"]?["podCIDR"]?.stringValue, let net = IPv4Network(cidr) else { return [] }
            return [.delete(IPAMRecords.subnetKey(net))]  // the subnet is free again
        case .replica, .instance:
            guard let ip = stored["spec"]?["network"]?["ip"]?.stringValue, let address = IPv4Address(ip) else { return [] }
            return [.delete(IPAMRecords.addressKey(address))]  // the address is free again
        case .service: return Self.serviceReleases(stored)  // VIP and external port are free again
        default: return []
        }
    }

    /// After a delete was committed.
    func deleted(_ ref: ObjectRef, _ stored: JSONValue) async {
        if ref.kind == .node, stored["spec"]?["podCIDR"] != nil {
            // a subnet came free: a node that registered while the cluster CIDR was used up may take it
            do { try await assignFreedSubnets() } catch {
                logger.warning("failed to assign a freed node subnet", metadata: ["error": "\(error.message)"])
            }
        }
    }

    /// A new Node's subnet record: the subnet it asks for, or the next free one (then owned by `ipam`).
    func admitNewNode(_ ref: ObjectRef, _ object: inout JSONValue, canonical: JSONValue, attempt: Int) async throws(KumoError)
        -> AdmissionRecords
    {
        let name = ref.name
        var records = AdmissionRecords()
        do {
            let reservation = try await reserveNodeSubnet(&object, node: name, attempt: attempt)
            if reservation.assigned { records.owners["spec.podCIDR"] = IPAMRecords.manager }
            records.compares.append(.absent(reservation.key))
            records.operations.append(.put(reservation.key, Array(name.utf8)))
        } catch where error.code == .unavailable && canonical["spec"]?["podCIDR"] == nil {
            // The cluster CIDR is used up: the node is registered without a subnet — the scheduler places
            // nothing on it — and an event says why.
            let event = EventFactory.make(
                regarding: ref, reason: "SubnetExhausted", type: "Warning", source: IPAMRecords.manager,
                message: "\(error.message); node \(name) gets no pod subnet and stays unschedulable until "
                    + "a node is deleted or the server runs with a larger --cluster-cidr or --node-subnet-size")
            records.operations.append(.put(event.key, event.bytes))
            logger.warning("node subnets exhausted", metadata: ["node": "\(name)"])
        }
        return records
    }
}
