import Foundation
import KumoAPI
import KumoDoctor
import KumoModel
import KumoStore

extension DoctorService {
    /// Reads everything the checks judge: nodes, replicas, instances, services and workloads from the
    /// controllers' shared caches once they have listed (already typed: nothing is read or decoded again), else
    /// straight from the store (typed; one that does not decode is left out and logged); images, secrets' keys and
    /// recent events from the store; leases from the lease table; the agents' reports; the server's own state.
    func snapshot(now: Timestamp) async throws(KumoError) -> HealthSnapshot {
        var s = HealthSnapshot(now: now)
        s.options = options
        if let cached = informers, cached.hasSynced {
            s.nodes = cached.nodes.list()
            s.replicas = cached.replicas.list()
            s.instances = cached.instances.list()
            s.services = cached.services.list()
            s.workloads = cached.workloads.list()
            state.withLock { $0.fromCaches += 1 }
        } else {
            s.nodes = try await objects(.node, as: NodeSpec.self)
            s.replicas = try await objects(.replica, as: ReplicaSpec.self)
            s.instances = try await objects(.instance, as: InstanceSpec.self)
            s.services = try await objects(.service, as: ServiceSpec.self)
            s.workloads = try await objects(.workload, as: WorkloadSpec.self)
        }
        s.images = try await objects(.image, as: ImageSpec.self)
        s.secrets = try await secretKeys()
        let horizon = now - .seconds(Int64(options.repairedMemorySeconds) + 300)
        s.events = try await objects(.event, as: EventSpec.self).filter { e in
            (e.spec.lastTime ?? e.spec.firstTime).flatMap { Timestamp(rfc3339: $0) }.map { $0 >= horizon } ?? false
        }
        for lease in try await core.leases.all() {
            guard let node = lease["node"]?.stringValue, let t = lease["renewTime"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) })
            else { continue }
            s.leases[node] = t
        }
        reports.retain(Set(s.nodes.map(\.metadata.name)))
        s.reports = reports.all()
        s.server = serverFacts()
        return s
    }

    /// The history of the objects findings are about (nodes, services), so checks can name the writer: fetched
    /// only for those, not for every object on every round.
    func addChanges(for findings: [Finding], to s: inout HealthSnapshot) async {
        var wanted: [ObjectReference] = []
        for f in findings {
            if let o = f.object, ["Node", "Service"].contains(o.kind) { wanted.append(o) }
            if f.code == "NODES_CORDONED" { wanted += f.nodes.map(ObjectReference.node) }
        }
        var seen: Set<ObjectReference> = []
        for ref in wanted.prefix(64) where seen.insert(ref).inserted {
            guard let kind = Kind(rawValue: ref.kind),
                let list = try? await core.resources.history(ObjectRef(kind, project: ref.project, name: ref.name), limit: 20)
            else { continue }
            for h in list.items {
                s.changes.append(
                    ChangeRecord(
                        object: ref, time: h.time, manager: h.manager, operation: h.operation,
                        changes: h.patch.map { "\($0.op.rawValue) \($0.path)" }, forced: !(h.forced ?? []).isEmpty))
            }
        }
    }

    func objects<S: ResourceSpec>(_ kind: Kind, as: S.Type) async throws(KumoError) -> [Object<S>] {
        var out: [Object<S>] = []
        for kv in try await rawList(StoreKeys.collectionPrefix(kind, project: nil)) {
            do {
                out.append(try decode(jsonBytes: kv.value, as: Object<S>.self))
            } catch {
                undecodable(kv.key, error)
            }
        }
        return out
    }

    /// Secrets' names and keys, read from their stored (sealed) form: the doctor never opens a value.
    func secretKeys() async throws(KumoError) -> [SecretSummary] {
        try await rawList(StoreKeys.collectionPrefix(.secret, project: nil)).compactMap { kv in
            guard let o = try? JSONValue(parsing: kv.value), let name = o["metadata"]?["name"]?.stringValue else { return nil }
            return SecretSummary(
                project: o["metadata"]?["project"]?.stringValue ?? "", name: name,
                keys: (o["spec"]?["data"]?.objectValue ?? [:]).keys.sorted())
        }
    }

    func rawList(_ prefix: String) async throws(KumoError) -> [KeyValue] {
        var out: [KeyValue] = []
        var cursor: String? = nil
        while true {
            let page: ListResult
            do {
                page = try await core.store.list(prefix: prefix, startAfter: cursor, limit: 1000)
            } catch {
                throw KumoError(.unavailable, "doctor: failed to read \(prefix): \(error)", cause: error)
            }
            out += page.items
            cursor = page.items.last?.key
            if !page.more || cursor == nil { break }
        }
        return out
    }

    func serverFacts() -> ServerFacts {
        var f = ServerFacts()
        let commits = core.metrics.recentCommits.summary()
        f.recentCommits = commits.count
        f.commitP99Ms = commits.p99Ms
        f.commitMaxMs = commits.maxMs
        f.commitFailures = commits.failures
        f.nodeGraceSeconds = core.config.nodeGracePeriod.secondsValue
        f.watchers = core.broadcaster.lagging(minimumSeconds: options.watchStallSeconds).map {
            WatcherLag(watcher: "stream \($0.id)", resource: $0.prefix, behindRevisions: Int64($0.pendingEvents), queued: $0.pendingEvents, stalledSeconds: $0.stalledSeconds)
        }
        f.certificates.append(
            CertificateFact(
                name: "cluster CA", notAfter: Self.rfc3339(core.ca.certificate.notValidAfter),
                notBefore: Self.rfc3339(core.ca.certificate.notValidBefore), subject: "\(core.ca.certificate.subject)"))
        if let serving = core.serving?.snapshot(), let end = serving["notValidAfter"]?.stringValue {
            f.certificates.append(CertificateFact(name: "serving", notAfter: end, notBefore: serving["notValidBefore"]?.stringValue))
        }
        return f
    }

    static func rfc3339(_ d: Date) -> String { Timestamp(millisecondsSinceEpoch: Int64(d.timeIntervalSince1970 * 1000)).rfc3339 }
}
