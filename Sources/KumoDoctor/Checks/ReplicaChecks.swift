import KumoModel

/// Replicas that run badly: crash loops, failed starts, not Ready, stuck terminating; workloads short of replicas.
public enum ReplicaChecks: HealthArea {
    public static let name = "replicas"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "CRASH_LOOP", .error, .spec, title: "a replica's container keeps exiting",
            runbook: Runbook(
                meaning: "The container started and exited again and again (restart count at or above the threshold): the program itself fails — a bad command, a missing file or setting, a crash. The exit code and its last log line are the evidence.",
                lookAlikes: [
                    "REPLICA_START_FAILED: the container never started (network, runc).",
                    "REPLICA_NOT_READY: it runs but its readiness probe fails.",
                    "An exit code 137 is a kill (out of memory or a liveness probe): see the `Unhealthy` events.",
                ],
                actions: ["`kumo logs replica/NAME` for its output; fix the image or the command, then `kumo apply` the workload (or `kumo rollout undo`)."])),
        CheckDefinition(
            "REPLICA_START_FAILED", .error, .runc, title: "a replica's container fails to start",
            runbook: Runbook(
                meaning: "The agent could not start the container: building its network namespace, its bundle, or `runc run` failed (status reason FailedStart). The agent retries with a back-off.",
                lookAlikes: [
                    "IMAGE_PULL_FAILED: the image could not be fetched (reason ImagePullFailed).",
                    "REPLICA_CONFIG_ERROR: the spec cannot be turned into a container (reason CreateContainerConfigError).",
                ],
                actions: ["The status message names the stage; the agent's log has the full error (`kumo state agent/NODE` → replicas)."])),
        CheckDefinition(
            "REPLICA_CONFIG_ERROR", .error, .spec, title: "a replica's spec cannot be made into a container",
            runbook: Runbook(
                meaning: "The agent cannot plan the container from the spec: a secret without the key, nothing to run (no command and no entrypoint in the image).",
                lookAlikes: ["SECRET_MISSING: the usual reason; this finding covers the others too."],
                actions: ["Read the status message; fix the workload's template."])),
        CheckDefinition(
            "REPLICA_NOT_READY", .warn, .spec, title: "a running replica is not Ready",
            runbook: Runbook(
                meaning: "The container runs but its readiness probe keeps failing, so no service sends it traffic. The replica's status (reason NotReady) carries the probe's last output; the finding appears 15 s after the start when the agent reports the probe failing, after 60 s otherwise.",
                lookAlikes: [
                    "CRASH_LOOP: the container exits.",
                    "SERVICE_HEALTH_CHECK_FAILING: the replica is Ready but HAProxy's own health check fails.",
                    "DNSMASQ_DOWN on its node: a probe that resolves names fails there only.",
                ],
                actions: ["Check the probe (`readinessProbe`) against what the program serves: `kumo describe replica/NAME`."])),
        CheckDefinition(
            "REPLICA_TERMINATING_TOO_LONG", .warn, .agent, title: "a replica stays Terminating on a Ready node",
            runbook: Runbook(
                meaning: "A deleted replica is still there past its grace period plus a margin: its node's agent has not stopped it. It is never forced, since its container may still run.",
                lookAlikes: ["AGENT_DOWN: on a node that stopped heartbeating the replica is evicted instead."],
                actions: ["`kumo state agent/NODE` for the runner; `kumo delete replica/NAME --force` once the container is known to be gone."])),
        CheckDefinition(
            "WORKLOAD_DEGRADED", .warn, .workloads, symptom: true, title: "a workload has fewer ready replicas than it wants",
            runbook: Runbook(
                meaning: "The workload's ready replicas stayed below `spec.replicas` for longer than the grace. A symptom: its replicas' findings (crash loop, pending, not Ready) or their nodes' say why.",
                lookAlikes: ["REPLICAS_PENDING: replicas exist but have no node."],
                actions: ["Fix the cause the doctor ranks first; `kumo rollout status workload/NAME` shows the rollout."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        var crashing: [String: [Replica]] = [:]
        for r in s.activeReplicas.sorted(by: { $0.metadata.name < $1.metadata.name }) {
            guard let node = r.spec.nodeName, let st = r.status else { continue }
            if (st.restartCount ?? 0) >= s.options.crashLoopRestarts, st.phase != .running || st.ready != true {
                crashing[groupKey(r), default: []].append(r)
                continue
            }
            switch st.reason {
            case "FailedStart":
                out.append(
                    finding(
                        "REPLICA_START_FAILED", node: node, object: r.reference,
                        summary: "replica \(r.metadata.name) on \(node) fails to start: \(st.message ?? "no message")",
                        evidence: [Evidence("Replica/\(r.metadata.name) status", "FailedStart: \(st.message ?? "")")],
                        since: s.events(about: r.reference, reason: "FailedStart").first?.lastTimestamp ?? r.createdTime))
                continue
            case "CreateContainerConfigError":
                out.append(
                    finding(
                        "REPLICA_CONFIG_ERROR", node: node, object: r.reference,
                        summary: "replica \(r.metadata.name) cannot be made into a container: \(st.message ?? "no message")",
                        evidence: [Evidence("Replica/\(r.metadata.name) status", "CreateContainerConfigError: \(st.message ?? "")")],
                        since: r.createdTime))
                continue
            default: break
            }
            // not Ready past the grace; sooner when the agent says its readiness probe fails (status NotReady)
            let probeFails = st.reason == "NotReady" && st.message != nil
            if st.phase == .running, st.ready != true, let started = st.startedAt.flatMap({ Timestamp(rfc3339: $0) }),
                (s.age(started) ?? 0) > (probeFails ? s.options.notReadyProbeGraceSeconds : s.options.notReadyGraceSeconds)
            {
                let probe = s.events(about: r.reference, reason: "Unhealthy").last
                let why = probeFails ? st.message : probe?.spec.message
                var evidence: [Evidence] = []
                if probeFails { evidence.append(Evidence("Replica/\(r.metadata.name) status", "NotReady: \(st.message ?? "")")) }
                if let probe { evidence.append(Evidence("event Unhealthy", probe.line)) }
                var f = finding(
                    "REPLICA_NOT_READY", node: node, object: r.reference,
                    summary: "replica \(r.metadata.name) on \(node) runs but is not Ready" + (why.map { ": \($0)" } ?? ""),
                    evidence: evidence, since: started)
                f.suspects = [.node(node)]
                out.append(f)
            }
            if let c = st.conditions?.first(where: { $0.type == "Terminating" && $0.status == .true }) {
                out.append(
                    finding(
                        "REPLICA_TERMINATING_TOO_LONG", node: node, object: r.reference,
                        summary: "replica \(r.metadata.name) on \(node) is still Terminating: \(c.message ?? "")",
                        since: c.lastTransitionTime.flatMap { Timestamp(rfc3339: $0) }))
            }
        }
        for key in crashing.keys.sorted() { out.append(crashLoop(crashing[key]!, s)) }
        out += degraded(s)
        return out
    }

    static func groupKey(_ r: Replica) -> String {
        "\(r.metadata.project ?? "")/\(HealthSnapshot.workloadName(of: r) ?? "replica:" + r.metadata.name)"
    }

    static func crashLoop(_ rs: [Replica], _ s: HealthSnapshot) -> Finding {
        let first = rs[0]
        let nodes = Set(rs.compactMap(\.spec.nodeName))
        let object = SchedulingChecks.workloadRef(first) ?? first.reference
        var evidence: [Evidence] = []
        var detail: [String] = []
        for r in rs.prefix(5) {
            let key = "\(r.metadata.project ?? "")/\(r.metadata.name)"
            let code = r.status?.exitCode.map { "exit code \($0)" } ?? "exit code unknown"
            detail.append("replica \(r.metadata.name) on \(r.spec.nodeName ?? "?"): \(r.status?.restartCount ?? 0) restarts, \(code)")
            if let node = r.spec.nodeName, let line = s.reports[node]?.lastLogLines?[key] {
                evidence.append(Evidence("replica \(r.metadata.name) log (last line)", line))
            }
            if let e = s.events(about: r.reference, reason: "Restarting").last {
                evidence.append(Evidence("event Restarting", e.line))
            }
        }
        let lastLine = evidence.first { $0.source.hasSuffix("(last line)") }?.observed
        let exit = first.status?.exitCode.map { "exit code \($0)" } ?? "exit code unknown"
        var f = finding(
            "CRASH_LOOP", node: nodes.count == 1 ? nodes.first : nil, object: object,
            summary: "\(rs.count) replica(s) of \(object.kind.lowercased())/\(object.name) crash-loop (\(exit))"
                + (lastLine.map { "; last log line: \($0)" } ?? ""),
            count: rs.count, detail: detail, evidence: evidence,
            since: rs.compactMap { $0.status?.startedAt.flatMap { Timestamp(rfc3339: $0) } ?? $0.createdTime }.min())
        if nodes.count > 1 { f.nodes = nodes }
        f.affects = Set(rs.map(\.reference) + [object])
        return f
    }

    static func degraded(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        for w in s.workloads.sorted(by: { $0.metadata.name < $1.metadata.name }) where w.metadata.deletionTimestamp == nil {
            let want = w.spec.replicas
            let ready = w.status?.readyReplicas ?? 0
            guard want > 0, ready < want else { continue }
            let mine = s.replicas(ofWorkload: w.metadata.name, project: w.metadata.project ?? "")
            // a workload just created or scaled is not degraded yet: wait for its youngest replica to get its chance
            let youngest = mine.compactMap(\.createdTime).max() ?? w.createdTime
            guard (s.age(youngest) ?? 0) > s.options.notReadyGraceSeconds else { continue }
            var f = finding(
                "WORKLOAD_DEGRADED", object: w.reference,
                summary: "workload \(w.metadata.name) has \(ready)/\(want) ready replica(s)",
                count: want - ready,
                detail: mine.filter { !($0.status?.ready ?? false) }.prefix(10).map {
                    "replica \($0.metadata.name) on \($0.spec.nodeName ?? "no node"): \($0.status?.phase?.rawValue ?? "Pending") \($0.status?.reason ?? "")"
                },
                since: youngest)
            f.suspects = Set(mine.map(\.reference) + mine.compactMap(\.spec.nodeName).map(ObjectReference.node))
            f.nodes = Set(mine.filter { !($0.status?.ready ?? false) }.compactMap(\.spec.nodeName))
            out.append(f)
        }
        return out
    }
}
