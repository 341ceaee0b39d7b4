import KumoModel

/// Which node's replicas and instances reference which secrets: what a node's secret watch may see. A pure
/// value, kept by the `WatchBroadcaster` from the replica and instance events it fans out — updated under its
/// lock before the event is delivered, so a secret event is judged against the bindings at its own revision:
/// a replica bound at revision R makes every change of its secrets after R reach its node, and a secret that no
/// replica on a node references never reaches it.
///
/// Only bound objects that reference at least one secret are kept (one entry per such object), so its size is
/// that of the work that uses secrets, not of the cluster.
struct SecretReferenceIndex: Sendable, Equatable {
    /// A secret of a project (`project/name`).
    struct SecretKey: Hashable, Sendable, Comparable {
        var project: String
        var name: String

        static func < (a: SecretKey, b: SecretKey) -> Bool { (a.project, a.name) < (b.project, b.name) }
    }

    struct Holder: Sendable, Equatable {
        var node: String
        var secrets: Set<SecretKey>
    }

    /// Object store key → its node and the secrets it references.
    private(set) var holders: [String: Holder] = [:]
    /// Secret → node → how many of that node's objects reference it.
    private var counts: [SecretKey: [String: Int]] = [:]

    static let holderPrefixes = [
        StoreKeys.collectionPrefix(.replica, project: nil), StoreKeys.collectionPrefix(.instance, project: nil),
    ]
    static let secretPrefix = StoreKeys.collectionPrefix(.secret, project: nil)

    /// Whether `key` is a replica's or an instance's (events that change the index).
    static func isHolder(_ key: String) -> Bool { holderPrefixes.contains { key.hasPrefix($0) } }

    /// `/registry/secrets/<project>/<name>` → the secret; nil for other keys.
    static func secret(atKey key: String) -> SecretKey? {
        guard key.hasPrefix(secretPrefix) else { return nil }
        let rest = key.dropFirst(secretPrefix.count).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard rest.count == 2, !rest[0].isEmpty, !rest[1].isEmpty else { return nil }
        return SecretKey(project: String(rest[0]), name: String(rest[1]))
    }

    /// The secrets an object's spec refers to: `spec.env[].secretRef.name` and `spec.secrets[]` (names, or
    /// objects with `name`/`secretName`).
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

    /// The project of a replica or instance: its key's (`/registry/<kind>/<project>/<name>`).
    static func project(ofHolderKey key: String) -> String? {
        guard let prefix = holderPrefixes.first(where: { key.hasPrefix($0) }) else { return nil }
        let project = key.dropFirst(prefix.count).prefix { $0 != "/" }
        return project.isEmpty ? nil : String(project)
    }

    /// A replica or instance as it is now (`object`), or gone (`nil`: deleted).
    mutating func apply(key: String, object: JSONValue?) {
        if let old = holders.removeValue(forKey: key) {
            for secret in old.secrets {
                var nodes = counts[secret] ?? [:]
                let left = (nodes[old.node] ?? 1) - 1
                nodes[old.node] = left > 0 ? left : nil
                counts[secret] = nodes.isEmpty ? nil : nodes
            }
        }
        guard let object, let node = object["spec"]?["nodeName"]?.stringValue, !node.isEmpty,
            let project = Self.project(ofHolderKey: key)
        else { return }
        let secrets = Set(Self.secretNames(usedBy: object).map { SecretKey(project: project, name: $0) })
        guard !secrets.isEmpty else { return }
        holders[key] = Holder(node: node, secrets: secrets)
        for secret in secrets { counts[secret, default: [:]][node, default: 0] += 1 }
    }

    /// Whether an object bound to `node` references the secret at store key `key`.
    func references(node: String, secretKey key: String) -> Bool {
        guard let secret = Self.secret(atKey: key) else { return false }
        return counts[secret]?[node] != nil
    }

    /// Every secret some object bound to `node` references.
    func secrets(of node: String) -> Set<SecretKey> {
        Set(counts.compactMap { $0.value[node] != nil ? $0.key : nil })
    }

    /// (secret, node) pairs, for `/debug/state`.
    var referenceCount: Int { counts.values.reduce(0) { $0 + $1.count } }
}
