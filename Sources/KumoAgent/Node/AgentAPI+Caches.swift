import KumoAPI
import KumoInformers
import KumoModel
import Logging

extension AgentAPI {
    /// An informer (`ObjectCache`) of `Spec.kind` as this node's token sees it, over the API: list + watch, a relist
    /// on 410, each version decoded once. `boundHere`: only the objects bound to this node
    /// (`fieldSelector=spec.nodeName=<node>`), as the replica and instance supervisors want them.
    func cache<Spec: ResourceSpec>(of _: Spec.Type, boundHere: Bool = false, logger: Logger) -> ObjectCache<Spec> {
        ObjectCache(
            source: KumoClientSource(client: client, fieldSelector: boundHere ? "spec.nodeName=\(node)" : nil), logger: logger)
    }
}

extension ObjectCache {
    /// The cache's list and watch, for the agent's state dumps: the revision it resumes from, how many lists it made,
    /// the last failure.
    var watchState: JSONValue {
        let s = stats
        return [
            "watchRevision": .string(String(s.revision)), "relists": .number(Double(s.lists)),
            "watchError": s.lastError.map { .string($0) } ?? .null, "synced": .bool(hasSynced),
        ]
    }
}
