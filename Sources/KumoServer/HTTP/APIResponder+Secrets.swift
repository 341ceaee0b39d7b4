import KumoAPI
import KumoModel

extension APIResponder {
    /// A node token gets a Secret only while a Replica or Instance bound to its node uses it (`spec.env[]
    /// .secretRef.name`, or `spec.secrets[]` — names, or objects with `name`/`secretName`): an agent needs the
    /// secrets of what it runs and nothing else. Checked before the secret is read, so a refused node learns
    /// nothing about it.
    func requireSecretOfOwnReplica(_ identity: Identity, _ ref: ObjectRef) async throws(KumoError) {
        guard let node = Authorizer.node(of: identity) else { return }
        for kind in [Kind.replica, .instance] {
            let page = try await core.resources.list(kind, project: ref.project)
            for object in page.items where object["spec"]?["nodeName"]?.stringValue == node {
                if Self.secretNames(usedBy: object).contains(ref.name) { return }
            }
        }
        throw KumoError(
            .forbidden, "\(identity.name) may not access \(ref): no replica bound to node \(node) uses it")
    }

    /// The Secrets an object's spec refers to.
    static func secretNames(usedBy object: JSONValue) -> Set<String> {
        var names: Set<String> = []
        for env in object["spec"]?["env"]?.arrayValue ?? [] {
            if let n = env["secretRef"]?["name"]?.stringValue { names.insert(n) }
        }
        for entry in object["spec"]?["secrets"]?.arrayValue ?? [] {
            if let n = entry.stringValue ?? entry["name"]?.stringValue ?? entry["secretName"]?.stringValue {
                names.insert(n)
            }
        }
        return names
    }
}
