import Foundation
import KumoAPI
import KumoModel
import KumoStore

extension IPAMRecords {
    /// One key per service VIP: `/ipam/vips/10.96.0.10` → `project/name` of the service holding it.
    public static let vipPrefix = "/ipam/vips/"
    /// One key per published node port: `/ipam/external/30080` → `project/name` of the service publishing it.
    public static let externalPrefix = "/ipam/external/"

    public static func vipKey(_ ip: IPv4Address) -> String { vipPrefix + ip.description }
    public static func externalKey(_ port: Int) -> String { externalPrefix + String(port) }
}

extension ResourceService {
    static func serviceOwner(_ ref: ObjectRef) -> String { "\(ref.project ?? "")/\(ref.name)" }

    /// A new Service: its VIP (the one asked for, which must lie in the service CIDR and be free, or the next free
    /// one, then owned by `ipam`) and its external port, each a record created only if absent in the same
    /// transaction as the object.
    func reserveServiceAddresses(_ object: inout JSONValue, ref: ObjectRef, attempt: Int) async throws(KumoError) -> (
        AdmissionRecords, assignedVIP: Bool
    ) {
        var r = AdmissionRecords()
        let owner = Array(Self.serviceOwner(ref).utf8)
        var assigned = false
        let vip: IPv4Address
        if let requested = object["spec"]?["clusterIP"]?.stringValue {
            guard let ip = IPv4Address(requested), ipam.services.contains(ip), ipam.assignableVIPs.contains(ip.value) else {
                throw KumoError(
                    .invalid, "spec.clusterIP \(requested) must be an address inside the service CIDR \(ipam.services)",
                    field: "spec.clusterIP")
            }
            if let holder = try await recordOwner(IPAMRecords.vipKey(ip)) {
                throw KumoError(.conflict, "spec.clusterIP \(ip) is already used by service \(holder)", field: "spec.clusterIP")
            }
            vip = ip
        } else {
            let page = try await kumo { try await store.list(prefix: IPAMRecords.vipPrefix, startAfter: nil, limit: nil) }
            let used = Set(page.items.compactMap { IPv4Address(String($0.key.dropFirst(IPAMRecords.vipPrefix.count))) })
            let range = ipam.assignableVIPs
            let start = attempt == 0 ? nil : IPv4Address(range.lowerBound + UInt32.random(in: 0...(range.upperBound - range.lowerBound)))
            guard let ip = ipam.nextVIP(used: used, after: start) else {
                throw KumoError(.unavailable, "no free VIP left in the service CIDR \(ipam.services)", field: "spec.clusterIP")
            }
            var spec = object["spec"]?.objectValue ?? [:]
            spec["clusterIP"] = .string(ip.description)
            object["spec"] = .object(spec)
            vip = ip
            assigned = true
        }
        r.compares.append(.absent(IPAMRecords.vipKey(vip)))
        r.operations.append(.put(IPAMRecords.vipKey(vip), owner))
        if let port = object["spec"]?["external"]?["port"]?.intValue {
            try await refuseTakenExternalPort(port, by: ref)
            r.compares.append(.absent(IPAMRecords.externalKey(port)))
            r.operations.append(.put(IPAMRecords.externalKey(port), owner))
        }
        return (r, assigned)
    }

    /// A changed Service: the VIP stays (a body without it keeps it; another value is refused), and a changed
    /// external port moves its record (refused, naming the owner, when another service publishes it).
    func serviceChanges(_ ref: ObjectRef, old: JSONValue, new object: inout JSONValue) async throws(KumoError)
        -> AdmissionRecords
    {
        var r = AdmissionRecords()
        let oldVIP = old["spec"]?["clusterIP"]?.stringValue
        let newVIP = object["spec"]?["clusterIP"]?.stringValue
        if newVIP == nil, let oldVIP {
            var spec = object["spec"]?.objectValue ?? [:]
            spec["clusterIP"] = .string(oldVIP)
            object["spec"] = .object(spec)
        } else if let newVIP, newVIP != oldVIP {
            throw KumoError(
                .invalid, "spec.clusterIP cannot change (is \(oldVIP ?? "unset"), not \(newVIP)); delete and re-create the service",
                field: "spec.clusterIP")
        }
        let oldPort = old["spec"]?["external"]?["port"]?.intValue
        let newPort = object["spec"]?["external"]?["port"]?.intValue
        if oldPort != newPort {
            if let oldPort { r.operations.append(.delete(IPAMRecords.externalKey(oldPort))) }
            if let newPort {
                try await refuseTakenExternalPort(newPort, by: ref)
                r.compares.append(.absent(IPAMRecords.externalKey(newPort)))
                r.operations.append(.put(IPAMRecords.externalKey(newPort), Array(Self.serviceOwner(ref).utf8)))
            }
        }
        return r
    }

    /// The records a deleted Service frees.
    static func serviceReleases(_ stored: JSONValue) -> [KumoStore.Operation] {
        var ops: [KumoStore.Operation] = []
        if let vip = stored["spec"]?["clusterIP"]?.stringValue.flatMap(IPv4Address.init) {
            ops.append(.delete(IPAMRecords.vipKey(vip)))
        }
        if let port = stored["spec"]?["external"]?["port"]?.intValue {
            ops.append(.delete(IPAMRecords.externalKey(port)))
        }
        return ops
    }

    func refuseTakenExternalPort(_ port: Int, by ref: ObjectRef) async throws(KumoError) {
        if let holder = try await recordOwner(IPAMRecords.externalKey(port)), holder != Self.serviceOwner(ref) {
            throw Self.externalConflict(port, holder: holder)
        }
    }

    static func externalConflict(_ port: Int, holder: String) -> KumoError {
        KumoError(
            .conflict, "spec.external.port \(port) is already published by service \(holder); choose another port",
            field: "spec.external.port")
    }

    /// Turns a lost create-if-absent race on a service record into the error naming the holder (nil: not ours).
    func serviceRecordConflict(_ e: KumoError) async -> KumoError? {
        guard let key = e.field else { return nil }
        if key.hasPrefix(IPAMRecords.externalPrefix), let port = Int(key.dropFirst(IPAMRecords.externalPrefix.count)) {
            let holder = (try? await recordOwner(key)) ?? nil
            return Self.externalConflict(port, holder: holder ?? "another service")
        }
        if key.hasPrefix(IPAMRecords.addressPrefix) {
            let holder = (try? await recordOwner(key)) ?? nil
            return KumoError(
                .conflict, "address \(key.dropFirst(IPAMRecords.addressPrefix.count)) is already held by \(holder ?? "another object")",
                field: "spec.network.ip")
        }
        return nil
    }

    func recordOwner(_ key: String) async throws(KumoError) -> String? {
        guard let kv = try await kumo({ try await store.get(key) }) else { return nil }
        return String(decoding: kv.value, as: UTF8.self)
    }
}
