import KumoAPI
import KumoModel

extension AgentAPI {
    /// All services of all projects (a node token may read them: its HAProxy serves every VIP) and the revision
    /// to watch from.
    public func listServices() async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        let page = try await client.send(.GET, APIPaths.collection(.service, project: nil)).decode(ObjectList.self)
        return (page.items, Int64(page.metadata.revision) ?? 0)
    }

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

    public func watchServices(since: Int64) async throws(KumoError) -> AsyncThrowingStream<WatchEventWire, any Error> {
        try await client.watch(APIPaths.collection(.service, project: nil), query: [("since", String(since))])
    }
}
