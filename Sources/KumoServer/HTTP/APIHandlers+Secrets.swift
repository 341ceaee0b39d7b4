import KumoAPI
import KumoModel

extension APIHandlers {
    /// A node token gets a Secret only while a Replica or Instance bound to its node uses it (`spec.env[]
    /// .secretRef.name`, or `spec.secrets[]` — names, or objects with `name`/`secretName`): an agent needs the
    /// secrets of what it runs and nothing else. Checked before the secret is read, so a refused node learns
    /// nothing about it.
    func requireSecretOfOwnReplica(_ identity: Identity, _ ref: ObjectRef) async throws(KumoError) {
        guard let node = Authorizer.node(of: identity) else { return }
        let secret = SecretReferenceIndex.SecretKey(project: ref.project ?? "", name: ref.name)
        if try await secretsReferenced(byNode: node, identity: identity).contains(secret) { return }
        throw KumoError(
            .forbidden, "\(identity.name) may not access \(ref): no replica bound to node \(node) uses it")
    }

    /// The Secrets an object's spec refers to.
    static func secretNames(usedBy object: JSONValue) -> Set<String> { SecretReferenceIndex.secretNames(usedBy: object) }

    /// What a node token's list (or the first part of its watch) of secrets shows: only the secrets that the
    /// replicas and instances bound to its node reference, read from the store now. Everyone else's lists are
    /// not touched here.
    func visibleToNode(_ items: [JSONValue], kind: Kind, identity: Identity) async throws(KumoError) -> [JSONValue] {
        guard kind == .secret, let node = Authorizer.node(of: identity) else { return items }
        let referenced = try await secretsReferenced(byNode: node, identity: identity)
        return items.filter { item in
            guard let project = item["metadata"]?["project"]?.stringValue, let name = item["metadata"]?["name"]?.stringValue
            else { return false }
            return referenced.contains(SecretReferenceIndex.SecretKey(project: project, name: name))
        }
    }

    /// Every secret a replica or instance bound to `node` references (all projects).
    func secretsReferenced(byNode node: String, identity: Identity) async throws(KumoError)
        -> Set<SecretReferenceIndex.SecretKey>
    {
        let bound = ListFilter(fieldSelector: try FieldSelector(parsing: "spec.nodeName=\(node)"))
        var out: Set<SecretReferenceIndex.SecretKey> = []
        for kind in [Kind.replica, .instance] {
            for object in try await list(kind, project: nil, filter: bound, identity: identity).items {
                guard let project = object["metadata"]?["project"]?.stringValue else { continue }
                for name in Self.secretNames(usedBy: object) {
                    out.insert(SecretReferenceIndex.SecretKey(project: project, name: name))
                }
            }
        }
        return out
    }
}
