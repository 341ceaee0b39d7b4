import Foundation
import KumoModel
import KumoScheduler

/// Instances (VMs) are placed like replicas — same pipeline, same one-write binding (node + IP + `02:6b:` MAC) —
/// with their flavor (vcpus, memory) as the request. A stopped VM keeps its reservation (it may start again),
/// so every bound instance counts.
extension SchedulingController {
    /// When an instance was bound (its timeline's "scheduled" end; the agent continues the timeline from there).
    public static let boundAtAnnotation = "kumo.dev/bound-at"

    /// What an instance asks of a node (and holds on it once bound).
    static func request(for instance: Instance) -> PlacementRequest {
        let vcpus = Int64(instance.spec.vcpus ?? InstanceSpec.defaultVCPUs)
        return PlacementRequest(
            name: instance.metadata.name, project: instance.metadata.project,
            cpu: CPUQuantity(millicores: vcpus * 1000),
            memory: instance.spec.memory ?? MemoryQuantity(bytes: InstanceSpec.defaultMemoryBytes),
            nodeSelector: instance.spec.nodeSelector ?? [:])
    }

    func placeInstance(_ key: String) async throws(KumoError) {
        let cacheKey = String(key.dropFirst(Self.instancePrefix.count))
        guard let instance = instances.get(cacheKey), instance.spec.nodeName == nil || instance.spec.network == nil else {
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        let project = instance.metadata.project ?? ""
        let name = instance.metadata.name
        let started = Date()
        if let pinned = instance.spec.nodeName {
            let bound = try await plane.bind(
                .instance, project: project, name: name, node: pinned, manager: Self.manager,
                annotations: [
                    Self.explanationAnnotation: #"{"pinned":"spec.nodeName was set by its creator"}"#,
                    Self.boundAtAnnotation: Timestamp.now().rfc3339,
                ])
            instances.remember(bound)
            accountInstance(cacheKey)
            _ = pending.withLock { $0.removeValue(forKey: key) }
            await recordBound(project: project, name: name, node: pinned, started: started)
            return
        }
        let request = Self.request(for: instance)
        switch decide(key, request, holding: request) {
        case .placed(let node, let explanation):
            let result = try await bindReserved(
                .instance, key: key, project: project, name: name, node: node,
                annotations: [Self.explanationAnnotation: Self.json(explanation), Self.boundAtAnnotation: Timestamp.now().rfc3339])
            instances.remember(result)
            accountInstance(cacheKey, releasing: true)
            _ = pending.withLock { $0.removeValue(forKey: key) }
            stats.withLock {
                $0.attempts += 1
                $0.placed += 1
            }
            await recordBound(project: project, name: name, node: node, started: started)
        case .unschedulable(let explanation):
            let reason = explanation.summary
            let previous = pending.withLock { p -> String? in
                let old = p[key]
                p[key] = reason
                return old
            }
            stats.withLock {
                $0.attempts += 1
                $0.unschedulable += 1
            }
            guard previous != reason else { return }
            let now = Timestamp.now().rfc3339
            let step: JSONValue = [
                "name": "scheduled", "component": "scheduler", "state": "failed", "startedAt": .string(now),
                "finishedAt": .string(now), "message": .string(reason),
            ]
            let updated = try await plane.patch(
                .instance, project: project, name: name,
                ["status": ["phase": "Pending", "reason": "Unschedulable", "message": .string(reason), "steps": [step]]],
                manager: Self.manager, force: true)
            instances.remember(updated)
            await plane.event(
                regarding: .instance, project: project, name: name, reason: "FailedScheduling", message: reason,
                type: "Warning", source: Self.manager)
        }
    }

    /// The first steps of the instance's timeline, which the agent continues: scheduled and bound (with the
    /// address the binding chose) — in an event, since the status belongs to the agent from now on.
    func recordBound(project: String, name: String, node: String, started: Date) async {
        let ms = Int((Date().timeIntervalSince(started) * 1000).rounded())
        await plane.event(
            regarding: .instance, project: project, name: name, reason: "Scheduled",
            message: "bound to node \(node) with an address and MAC (\(ms) ms)", type: "Normal", source: Self.manager)
    }
}
