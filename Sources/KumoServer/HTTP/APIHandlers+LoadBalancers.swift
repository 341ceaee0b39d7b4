import Hummingbird
import KumoAPI
import KumoModel

extension APIHandlers {
    /// `GET /api/v1/projects/P/services/S/loadbalancers[?revision=R]`: the live nodes (unexpired leases), how many
    /// of their load balancers serve revision R or later (default: the service's resourceVersion), and the first 100
    /// that lag. Anyone who may read the service may ask: its draining agents, `kumo describe service`.
    func serviceLoadBalancers(_ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError) -> Response {
        let ref = ObjectRef(.service, project: path.project, name: path.name ?? "")
        try Authorizer.authorize(identity, .get, .service, project: ref.project, name: ref.name)
        let object = try await core.resources.get(ref).object
        let revision: Int64
        if let asked = try query.revision("revision") {
            revision = asked
        } else {
            revision = object["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) } ?? 0
        }
        let (live, serving, lagging, count) = try await core.leases.loadBalancers(atLeast: revision)
        let answer: JSONValue = [
            "service": .string("\(ref.project ?? "")/\(ref.name)"), "revision": .number(Double(revision)),
            "liveNodes": .number(Double(live)), "serving": .number(Double(serving)), "laggingCount": .number(Double(count)),
            "lagging": .array(
                lagging.map { l in
                    // A node that has never acknowledged has neither key (absent, not null: the schema's types hold).
                    var entry: [String: JSONValue] = ["node": .string(l.node)]
                    if let applied = l.appliedRevision { entry["appliedRevision"] = .number(Double(applied)) }
                    if let at = l.appliedAt { entry["appliedAt"] = .string(at) }
                    return .object(entry)
                }),
        ]
        return Self.json(answer)
    }
}
