import KumoDoctor
import KumoModel

extension DoctorService {
    public func explain(_ name: String?) async throws(KumoError) -> ComponentStatusList {
        let components: [Component]
        if let name {
            guard let c = Component(name: name) else {
                throw KumoError(
                    .notFound, "unknown component \"\(name)\"; valid components: \(Component.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "component")
            }
            components = [c]
        } else {
            components = Component.allCases
        }
        let (findings, _) = try await findings(fresh: false)
        let graph = ComponentGraph.kumo
        let live = await liveStatus()
        return ComponentStatusList(
            items: components.map { c in
                ComponentStatus(
                    profile: graph.profiles[c]!, dependents: graph.dependents(of: c), live: live[c] ?? [],
                    failing: findings.filter { $0.component == c }.map(\.label))
            })
    }

    /// What each component is doing now, from the same sources the checks read.
    func liveStatus() async -> [Component: [String]] {
        var out: [Component: [String]] = [:]
        let commits = core.metrics.recentCommits.summary()
        let status = try? await core.store.status()
        out[.store] = [
            "revision \(status?.revision ?? 0), \(commits.count) commits in the last minute, p99 \(Self.ms(commits.p99Ms)) ms, \(commits.failures) failed, \(status?.pendingWrites ?? 0) pending"
        ]
        out[.apiServer] = ["\(core.metrics.openWatchers) open watch streams, \(core.broadcaster.lagging(minimumSeconds: 5).count) stalled"]
        let states = core.componentStates()
        for (c, key) in [(Component.scheduler, "scheduler"), (.workloads, "workloads"), (.endpoints, "endpoints"), (.nodeLifecycle, "nodeLifecycle"), (.autoscaler, "autoscaler")] {
            if let s = states[key] { out[c] = [Self.summary(s)] }
        }
        if let tls = core.serving?.snapshot() {
            out[.pki] = ["serving certificate valid until \(tls["notValidAfter"]?.stringValue ?? "?"), CA \(core.ca.fingerprint.prefix(16))…"]
        } else {
            out[.pki] = ["plain HTTP (no serving certificate)"]
        }
        let leases = (try? await core.leases.all()) ?? []
        let now = Timestamp.now()
        var agents: [String] = []
        for l in leases {
            guard let node = l["node"]?.stringValue, let t = l["renewTime"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) })
            else { continue }
            agents.append("agent on \(node): last heartbeat \(Self.ms(Double(now.millisecondsSinceEpoch - t.millisecondsSinceEpoch) / 1000)) s ago")
        }
        out[.agent] = agents.sorted()
        for (node, r) in reports.all().sorted(by: { $0.key < $1.key }) {
            if let d = r.dnsmasq {
                let refusals = r.dhcp?.refusals.reduce(0) { $0 + $1.count } ?? 0
                out[.dnsmasq, default: []].append(
                    "dnsmasq on \(node): \(Self.daemon(d)), \(r.dhcp?.hosts ?? 0) hosts, \(r.dhcp?.leases ?? 0) leases, \(refusals) refusals in \(Int(r.dhcp?.windowSeconds ?? 0)) s")
            }
            if let h = r.haproxy {
                out[.haproxy, default: []].append("HAProxy on \(node): \(Self.daemon(h)), \(r.loadBalancer?.count ?? 0) backends")
            }
            if let o = r.overlay {
                out[.overlay, default: []].append("overlay on \(node): \(o.peersProgrammed)/\(o.peersExpected) peers programmed")
            }
            if let p = r.peers {
                out[.underlay, default: []].append("\(node) reaches \(p.filter(\.reachable).count)/\(p.count) peers")
            }
            if let h = r.host {
                out[.host, default: []].append("\(node): kvm \(h.kvm.map { $0 ? "yes" : "no" } ?? "?"), disk free \(h.diskFreeBytes.map { "\($0 >> 20) MiB" } ?? "?")")
            }
        }
        return out
    }

    static func daemon(_ d: DaemonHealth) -> String {
        (d.answering ? "answering" : d.running ? "NOT answering (process exists)" : "NOT running") + (d.pid.map { ", pid \($0)" } ?? "")
    }

    static func summary(_ s: JSONValue) -> String {
        guard let o = s.objectValue else { return s.jsonString }
        return o.keys.sorted().prefix(6).compactMap { k -> String? in
            guard let v = o[k], v.objectValue == nil, v.arrayValue == nil else { return nil }
            return "\(k) \(v.jsonString)"
        }.joined(separator: ", ")
    }

    static func ms(_ v: Double) -> String { String(format: "%.1f", v) }
}
