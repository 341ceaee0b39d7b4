import KumoModel

extension APIHandlers {
    /// A list as `ResourceService.list` answers it; a node's list of its own replicas or instances (a node token,
    /// `fieldSelector` with `spec.nodeName=N`, in one page: what an agent's caches list, and the secrets its
    /// replicas reference) is read from the broadcaster's binding index instead of decoding the whole collection —
    /// what keeps 5,000 agents relisting after a server restart from costing 5,000 × 150,000 decodes. Its revision
    /// may trail the newest write by the broadcaster's lag, and a watch from it replays what the list already
    /// holds (see `ResourceService.list(keys:)`), which an agent's cache ignores; every other list (a user's,
    /// a controller's, a node with more objects than `limit`) is the scan at the store's revision, as before.
    func list(
        _ kind: Kind, project: String?, filter: ListFilter, limit: Int? = nil, continueToken: String? = nil,
        identity: Identity
    ) async throws(KumoError) -> ListPage {
        if kind == .replica || kind == .instance, continueToken == nil, Authorizer.node(of: identity) != nil,
            let node = filter.fieldSelector?.requirements.first(where: {
                $0.field == "spec.nodeName" && $0.op == .equals && !$0.value.isEmpty
            })?.value,
            let bound = await boundKeys(node, under: StoreKeys.collectionPrefix(kind, project: project)),
            bound.keys.count <= limit ?? .max
        {
            core.metrics.indexedLists.increment()
            return try await core.resources.list(keys: bound.keys, atRevision: bound.revision, filter: filter)
        }
        return try await core.resources.list(kind, project: project, filter: filter, limit: limit, continueToken: continueToken)
    }

    /// The broadcaster's keys; while it is still loading (a server just started, every agent relisting at once)
    /// waited for up to 10 s rather than scanning the whole collection for each agent.
    func boundKeys(_ node: String, under prefix: String) async -> (keys: [String], revision: Int64)? {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            if let bound = core.broadcaster.keys(boundTo: node, under: prefix) { return bound }
            guard ContinuousClock.now < deadline, (try? await Task.sleep(for: .milliseconds(50))) != nil else { return nil }
        }
    }
}
