import KumoAPI
import KumoModel

extension AgentAPI {
    /// The live nodes whose load balancers do not serve `revision` of a service yet (the first 100, as "node
    /// (applied R)"), and how many lag in all.
    public func laggingLoadBalancers(project: String, service: String, revision: Int64) async throws(KumoError)
        -> (lagging: [String], count: Int)
    {
        let answer = try await client.send(
            .GET, APIPaths.object(.service, project: project, name: service) + "/loadbalancers",
            query: [("revision", String(revision))]
        ).json()
        let lagging = (answer["lagging"]?.arrayValue ?? []).map { l in
            "\(l["node"]?.stringValue ?? "?") (applied \(l["appliedRevision"]?.intValue.map(String.init) ?? "nothing"))"
        }
        return (lagging, answer["laggingCount"]?.intValue ?? lagging.count)
    }
}
