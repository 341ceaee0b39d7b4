import KumoModel

extension Object {
    /// This object as a finding's `object`.
    public var reference: ObjectReference {
        ObjectReference(kind: Spec.kind.rawValue, name: metadata.name, project: metadata.project)
    }

    var createdTime: Timestamp? { metadata.createdAt.flatMap { Timestamp(rfc3339: $0) } }
}

extension HealthSnapshot {
    /// Seconds from `t` to now (0 when `t` is in the future).
    func age(_ t: Timestamp?) -> Double? {
        guard let t else { return nil }
        return max(0, Double(now.millisecondsSinceEpoch - t.millisecondsSinceEpoch) / 1000)
    }

    /// Whether `t` lies within the last `seconds`.
    func within(_ seconds: Double, _ t: Timestamp?) -> Bool {
        guard let a = age(t) else { return false }
        return a <= seconds
    }

    /// Nodes whose lease is older than the grace period (or that never had one and exist longer than that).
    var nodesWithoutHeartbeat: Set<String> {
        if index.built { return index.silent }
        var out: Set<String> = []
        for n in nodes {
            let name = n.metadata.name
            if let renewed = leases[name] {
                if (age(renewed) ?? 0) > server.nodeGraceSeconds { out.insert(name) }
            } else if (age(n.createdTime) ?? 0) > server.nodeGraceSeconds {
                out.insert(name)
            }
        }
        return out
    }

    /// A report that arrived recently enough to be believed.
    func freshReport(_ node: String) -> NodeHealthReport? {
        if index.built { return index.fresh[node] }
        return freshReportUncached(node)
    }

    func freshReportUncached(_ node: String) -> NodeHealthReport? {
        guard let r = reports[node] else { return nil }
        let received = r.receivedAt.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(rfc3339: r.time)
        return within(options.reportStaleSeconds, received) ? r : nil
    }

    /// Replicas that are meant to run (not finished, not being deleted).
    var activeReplicas: [Replica] {
        replicas.filter {
            $0.metadata.deletionTimestamp == nil && $0.status?.phase != .succeeded && $0.status?.phase != .failed
        }
    }

    func replicas(on node: String) -> [Replica] {
        if index.built { return (index.replicasByNode[node] ?? []).map { replicas[$0] } }
        return replicas.filter { $0.spec.nodeName == node }
    }

    /// Replicas of a workload (label `kumo.dev/workload`).
    func replicas(ofWorkload name: String, project: String) -> [Replica] {
        if index.built { return (index.replicasByWorkload[project + "/" + name] ?? []).map { replicas[$0] } }
        return replicas.filter { $0.metadata.project == project && Self.workloadName(of: $0) == name }
    }

    /// Replicas of `project` a selector selects (every label must match; an empty selector selects nothing).
    func replicas(selectedBy selector: [String: String], project: String) -> [Replica] {
        guard let (key, value) = selector.min(by: { $0.key < $1.key }) else { return [] }
        let candidates: [Replica] = index.built
            ? (index.replicasByLabel[project + "\u{0}" + key + "=" + value] ?? []).map { replicas[$0] }
            : replicas.filter { $0.metadata.project == project }
        return candidates.filter { r in selector.allSatisfy { r.metadata.labels?[$0.key] == $0.value } }
    }

    /// Replicas of `project` that carry at least one of the selector's keys (near matches, for the detail).
    func replicas(withAnyKeyOf selector: [String: String], project: String, limit: Int) -> [Replica] {
        var out: [Replica] = []
        for r in replicas where r.metadata.project == project {
            if selector.keys.contains(where: { r.metadata.labels?[$0] != nil }) { out.append(r) }
            if out.count >= limit { break }
        }
        return out
    }

    /// Events about `ref`, newest last.
    func events(about ref: ObjectReference, reason: String? = nil) -> [Event] {
        let pool = index.built ? (index.eventsByRegarding[ref.kind + "/" + (ref.project ?? "") + "/" + ref.name] ?? []).map { events[$0] } : events
        return pool.filter {
            $0.spec.regarding.kind == ref.kind && $0.spec.regarding.name == ref.name
                && ($0.spec.regarding.project ?? "") == (ref.project ?? "")
                && (reason == nil || $0.spec.reason == reason)
        }
        .sorted { ($0.spec.lastTime ?? "") < ($1.spec.lastTime ?? "") }
    }

    /// The latest change of `ref` at or before `time` that touched `path`, by another manager than `except`.
    func lastChange(of ref: ObjectReference, touching path: String, before time: Timestamp? = nil, except: String? = nil) -> ChangeRecord? {
        changes.filter {
            $0.object.kind == ref.kind && $0.object.name == ref.name && ($0.object.project ?? "") == (ref.project ?? "")
                && $0.touches(path) && $0.manager != except
                && (time == nil || ($0.timestamp.map { $0 <= time! } ?? false))
        }
        .max { ($0.timestamp ?? Timestamp(millisecondsSinceEpoch: 0)) < ($1.timestamp ?? Timestamp(millisecondsSinceEpoch: 0)) }
    }

    /// The workload a replica belongs to (label `kumo.dev/workload`).
    static func workloadName(of r: Replica) -> String? { r.metadata.labels?["kumo.dev/workload"] }
}

extension Event {
    var lastTimestamp: Timestamp? { (spec.lastTime ?? spec.firstTime).flatMap { Timestamp(rfc3339: $0) } }
    var line: String { "\(spec.lastTime ?? "") \(spec.reason) (\(spec.source)): \(spec.message ?? "")" }
}
