import KumoModel

/// Replicas that wait for a node, and the reasons the scheduler gave: capacity, cordons, subnets, selectors,
/// secrets they reference.
public enum SchedulingChecks: HealthArea {
    public static let name = "scheduling"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "REPLICAS_PENDING", .warn, .scheduler, symptom: true, title: "replicas wait for a node",
            runbook: Runbook(
                meaning: "Replicas are not bound to a node. The scheduler's reason is in their status message (`0/3 nodes available: 2 cordoned, 1 insufficient memory`). This is a symptom: the cause is one of the findings it lists.",
                lookAlikes: [
                    "INSUFFICIENT_CAPACITY, NODES_CORDONED, NODE_NO_SUBNET, SUBNET_EXHAUSTED, NODE_SELECTOR_MATCHES_NOTHING: the causes, each with its own fix.",
                    "SECRET_MISSING: a replica bound to a node that waits for a secret is Pending too, on that node.",
                ],
                actions: ["`kumo describe replica/NAME` shows the placement explanation; fix the cause the doctor ranks first."])),
        CheckDefinition(
            "INSUFFICIENT_CAPACITY", .error, .operator, title: "no node has room for the replicas' requests",
            runbook: Runbook(
                meaning: "Every schedulable node lacks the cpu, memory or replica slots a pending replica requests. The cloud is full for this request.",
                lookAlikes: [
                    "REQUEST_EXCEEDS_NODES: the request is larger than any node even when empty: the spec, not the capacity, must change.",
                    "NODES_CORDONED: room exists on nodes that are cordoned.",
                ],
                actions: ["Add nodes, scale down something else, or lower the workload's requests; `kumo get nodes` shows allocatable."])),
        CheckDefinition(
            "REQUEST_EXCEEDS_NODES", .error, .spec, title: "a replica requests more than any node has",
            runbook: Runbook(
                meaning: "The replica's cpu or memory request exceeds the allocatable of every node, even an empty one: it can never be placed.",
                lookAlikes: ["INSUFFICIENT_CAPACITY: it would fit on an empty node; the nodes are merely full."],
                actions: ["Lower `spec.template.spec.resources` of the workload, or add a larger node."])),
        CheckDefinition(
            "NODE_SELECTOR_MATCHES_NOTHING", .error, .spec, title: "a replica's node selector or tolerations match no node",
            runbook: Runbook(
                meaning: "Every node was rejected for its labels (`nodeSelector`) or for taints the replica does not tolerate.",
                lookAlikes: ["NODES_CORDONED: the nodes match but are cordoned."],
                actions: ["Compare the workload's nodeSelector with `kumo get nodes --show-labels`; add the label to a node or fix the selector."])),
        CheckDefinition(
            "SUBNET_EXHAUSTED", .warn, .ipam, title: "a node's pod subnet has no free address",
            runbook: Runbook(
                meaning: "Every assignable address of the node's pod subnet is held by a replica or an instance. A replica the scheduler places there fails to bind (no free address) and stays Pending.",
                lookAlikes: ["NODE_NO_SUBNET: the node has no subnet at all.", "INSUFFICIENT_CAPACITY: the node's replica slots (capacity `pods`) run out first."],
                actions: ["Run the server with a larger --node-subnet-size for new nodes, lower the node's `pods` capacity to the subnet size, or remove replicas that are not needed."])),
        CheckDefinition(
            "SECRET_MISSING", .error, .spec, title: "a replica references a secret or key that does not exist",
            runbook: Runbook(
                meaning: "An `env[].secretRef` or `secrets[]` volume names a secret missing in the project, or a key the secret does not have. The replica stays Pending (SecretNotFound) or fails to start (CreateContainerConfigError).",
                lookAlikes: ["REPLICA_START_FAILED: the start fails for another reason (network, runc)."],
                actions: ["`kumo secret create NAME --from-literal KEY=VALUE -p PROJECT`, or fix the reference in the workload."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        let pending = s.activeReplicas.filter { r in
            r.spec.nodeName == nil && (s.age(r.createdTime) ?? 0) > 15
        }
        out += pendingGroups(pending, s)
        out += capacity(pending, s)
        out += subnets(pending, s)
        out += secrets(s)
        return out
    }

    /// `0/3 nodes available: 2 cordoned, 1 insufficient memory` → [("cordoned", 2), ("insufficient memory", 1)].
    static func rejections(_ message: String?) -> [(reason: String, count: Int)] {
        guard let message else { return [] }
        let marker = Array("available: ")
        let chars = Array(message)
        var start: Int?
        if chars.count >= marker.count {
            for i in 0...(chars.count - marker.count) where Array(chars[i..<(i + marker.count)]) == marker {
                start = i + marker.count
                break
            }
        }
        guard let start else { return [] }
        return String(chars[start...]).split(separator: ",").compactMap { part in
            let t = String(part).trimmingCharacters(in: " ")
            guard let space = t.firstIndex(of: " "), let n = Int(t[..<space]) else { return nil }
            return (String(t[t.index(after: space)...]), n)
        }
    }

    static func pendingGroups(_ pending: [Replica], _ s: HealthSnapshot) -> [Finding] {
        var groups: [String: [Replica]] = [:]
        for r in pending {
            groups["\(r.metadata.project ?? "")/\(HealthSnapshot.workloadName(of: r) ?? "replica:" + r.metadata.name)", default: []].append(r)
        }
        let silent = s.nodesWithoutHeartbeat
        let unusable = Set(s.nodes.filter { $0.spec.unschedulable == true || $0.spec.podCIDR == nil }.map(\.metadata.name))
        return groups.keys.sorted().map { key in
            let rs = groups[key]!.sorted { $0.metadata.name < $1.metadata.name }
            let first = rs[0]
            let object: ObjectReference =
                HealthSnapshot.workloadName(of: first).map { ObjectReference(kind: "Workload", name: $0, project: first.metadata.project) }
                ?? first.reference
            let message = first.status?.message
            let reasons = rejections(message).map(\.reason)
            var f = finding(
                "REPLICAS_PENDING", object: object,
                summary: "\(rs.count) replica(s) of \(object.kind.lowercased())/\(object.name) wait for a node"
                    + (message.map { ": \($0)" } ?? ": not placed yet"),
                count: rs.count, detail: rs.prefix(10).map { "replica \($0.metadata.name): \($0.status?.reason ?? "no reason yet") \($0.status?.message ?? "")" },
                evidence: message.map { [Evidence("Replica/\(first.metadata.name) status.message", $0)] } ?? [],
                since: rs.compactMap(\.createdTime).min())
            f.suspects = Set(rs.map(\.reference))
            if reasons.contains("not ready") { f.suspects.formUnion(silent.map(ObjectReference.node)) }
            if reasons.contains("cordoned") { f.suspects.formUnion(unusable.map(ObjectReference.node)) }
            return f
        }
    }

    /// INSUFFICIENT_CAPACITY, REQUEST_EXCEEDS_NODES and NODE_SELECTOR_MATCHES_NOTHING from the scheduler's reasons.
    static func capacity(_ pending: [Replica], _ s: HealthSnapshot) -> [Finding] {
        var full: [Replica] = []
        var tooLarge: [Replica] = []
        var unmatched: [Replica] = []
        let largestCPU = s.nodes.compactMap { ($0.status?.allocatable ?? $0.status?.capacity)?.cpu?.millicores }.max() ?? 0
        let largestMemory = s.nodes.compactMap { ($0.status?.allocatable ?? $0.status?.capacity)?.memory?.bytes }.max() ?? 0
        for r in pending {
            let reasons = rejections(r.status?.message)
            guard !reasons.isEmpty else { continue }
            let names = Set(reasons.map(\.reason))
            let capacityReasons: Set<String> = ["insufficient cpu", "insufficient memory", "too many replicas"]
            if !names.isDisjoint(with: capacityReasons) {
                let req = r.spec.resources
                if let cpu = req?.cpu?.millicores, largestCPU > 0, cpu > largestCPU {
                    tooLarge.append(r)
                } else if let mem = req?.memory?.bytes, largestMemory > 0, mem > largestMemory {
                    tooLarge.append(r)
                } else {
                    full.append(r)
                }
            } else if names.isSubset(of: ["didn't match node selector", "had untolerated taint"]) {
                unmatched.append(r)
            }
        }
        var out: [Finding] = []
        if !full.isEmpty {
            var f = finding(
                "INSUFFICIENT_CAPACITY",
                summary: "no schedulable node has room for \(full.count) pending replica(s)",
                count: full.count, detail: full.prefix(10).map { "replica \($0.metadata.name) requests \(describe($0.spec.resources)): \($0.status?.message ?? "")" },
                evidence: full.prefix(3).map { Evidence("Replica/\($0.metadata.name) status.message", $0.status?.message ?? "") },
                since: full.compactMap(\.createdTime).min())
            f.affects = Set(full.map(\.reference) + full.compactMap(workloadRef))
            out.append(f)
        }
        if !tooLarge.isEmpty {
            var f = finding(
                "REQUEST_EXCEEDS_NODES", object: workloadRef(tooLarge[0]) ?? tooLarge[0].reference,
                summary: "\(tooLarge.count) replica(s) request more than the largest node has (\(CPUQuantity(millicores: largestCPU)) cpu, \(MemoryQuantity(bytes: largestMemory)) memory)",
                count: tooLarge.count, detail: tooLarge.prefix(10).map { "replica \($0.metadata.name) requests \(describe($0.spec.resources))" },
                since: tooLarge.compactMap(\.createdTime).min())
            f.affects = Set(tooLarge.map(\.reference) + tooLarge.compactMap(workloadRef))
            out.append(f)
        }
        if !unmatched.isEmpty {
            var f = finding(
                "NODE_SELECTOR_MATCHES_NOTHING", object: workloadRef(unmatched[0]) ?? unmatched[0].reference,
                summary: "\(unmatched.count) replica(s) match no node by selector or tolerations",
                count: unmatched.count,
                detail: unmatched.prefix(10).map { "replica \($0.metadata.name) nodeSelector \(($0.spec.nodeSelector ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))" },
                evidence: unmatched.prefix(3).map { Evidence("Replica/\($0.metadata.name) status.message", $0.status?.message ?? "") },
                since: unmatched.compactMap(\.createdTime).min())
            f.affects = Set(unmatched.map(\.reference) + unmatched.compactMap(workloadRef))
            out.append(f)
        }
        return out
    }

    /// SUBNET_EXHAUSTED: the addresses bound on a node fill its pod subnet.
    static func subnets(_ pending: [Replica], _ s: HealthSnapshot) -> [Finding] {
        var used: [String: Int] = [:]
        for r in s.replicas where r.spec.network?.ip != nil { used[r.spec.nodeName ?? "", default: 0] += 1 }
        for i in s.instances where i.spec.network?.ip != nil { used[i.spec.nodeName ?? "", default: 0] += 1 }
        // a replica the scheduler chose a node for but could not bind has no Unschedulable reason
        let bindFailures = pending.filter { $0.status?.reason != "Unschedulable" }
        var out: [Finding] = []
        for node in s.nodes.sorted(by: { $0.metadata.name < $1.metadata.name }) {
            guard let cidr = node.spec.podCIDR, let net = IPv4Network(cidr), let range = IPAM.assignable(in: net) else { continue }
            let size = Int(range.upperBound - range.lowerBound) + 1
            let n = used[node.metadata.name] ?? 0
            guard n >= size else { continue }
            var f = finding(
                "SUBNET_EXHAUSTED", severity: bindFailures.isEmpty ? .warn : .error, node: node.metadata.name, object: node.reference,
                summary: "pod subnet \(cidr) of node \(node.metadata.name) is full: \(n) of \(size) addresses bound"
                    + (bindFailures.isEmpty ? "" : "; \(bindFailures.count) replica(s) wait for an address"),
                count: n, evidence: [Evidence("Node/\(node.metadata.name) spec.podCIDR", cidr)])
            f.affects = Set(bindFailures.map(\.reference) + bindFailures.compactMap(workloadRef))
            out.append(f)
        }
        return out
    }

    /// SECRET_MISSING: every reference of an active replica checked against the project's secrets and keys.
    static func secrets(_ s: HealthSnapshot) -> [Finding] {
        var keys: [String: Set<String>] = [:]
        for sec in s.secrets { keys["\(sec.project)/\(sec.name)"] = Set(sec.keys) }
        struct Missing { var replicas: [Replica] = []; var what: Set<String> = [] }
        var missing: [String: Missing] = [:]
        for r in s.activeReplicas {
            let project = r.metadata.project ?? ""
            var refs: [(String, String?)] = (r.spec.env ?? []).compactMap { e in e.secretRef.map { ($0.name, $0.key) } }
            refs += (r.spec.secrets ?? []).map { ($0.name, nil) }
            for (name, key) in refs {
                let id = "\(project)/\(name)"
                if let have = keys[id] {
                    if let key, !have.contains(key) {
                        missing[id, default: Missing()].replicas.append(r)
                        missing[id, default: Missing()].what.insert("key \(key)")
                    }
                } else {
                    missing[id, default: Missing()].replicas.append(r)
                    missing[id, default: Missing()].what.insert("the secret")
                }
            }
        }
        return missing.keys.sorted().map { id in
            let m = missing[id]!
            let parts = id.split(separator: "/", maxSplits: 1).map(String.init)
            let ref = ObjectReference(kind: "Secret", name: parts.count > 1 ? parts[1] : id, project: parts.first)
            let rs = m.replicas
            let whole = m.what.contains("the secret")
            var f = finding(
                "SECRET_MISSING", object: ref,
                summary: whole
                    ? "secret \(ref.name) does not exist in project \(ref.project ?? ""): \(Set(rs.map(\.metadata.name)).count) replica(s) reference it"
                    : "secret \(ref.name) has no \(m.what.sorted().joined(separator: ", ")): \(Set(rs.map(\.metadata.name)).count) replica(s) reference it",
                count: Set(rs.map(\.metadata.name)).count,
                detail: Set(rs.map(\.metadata.name)).sorted().prefix(10).map { "replica \($0)" },
                evidence: rs.prefix(3).compactMap { r in r.status?.message.map { Evidence("Replica/\(r.metadata.name) status", "\(r.status?.reason ?? ""): \($0)") } },
                since: rs.compactMap(\.createdTime).min())
            f.affects = Set(rs.map(\.reference) + rs.compactMap(workloadRef))
            return f
        }
    }

    static func workloadRef(_ r: Replica) -> ObjectReference? {
        HealthSnapshot.workloadName(of: r).map { ObjectReference(kind: "Workload", name: $0, project: r.metadata.project) }
    }

    static func describe(_ r: Resources?) -> String {
        guard let r else { return "nothing" }
        return [r.cpu.map { "cpu \($0)" }, r.memory.map { "memory \($0)" }].compactMap { $0 }.joined(separator: ", ")
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
