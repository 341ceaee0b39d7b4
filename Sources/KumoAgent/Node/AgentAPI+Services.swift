import KumoAPI
import KumoModel

extension AgentAPI {
    /// All services of all projects (a node token may read them: its HAProxy serves every VIP) and the revision
    /// to watch from.
    public func listServices() async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        let page = try await client.send(.GET, APIPaths.collection(.service, project: nil)).decode(ObjectList.self)
        return (page.items, Int64(page.metadata.revision) ?? 0)
    }

    public func watchServices(since: Int64) async throws(KumoError) -> AsyncThrowingStream<WatchEventWire, any Error> {
        try await client.watch(APIPaths.collection(.service, project: nil), query: [("since", String(since))])
    }
}
