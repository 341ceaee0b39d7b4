import KumoModel
import KumoStore

/// Node heartbeats: a small lease record per node (`/leases/nodes/<name>`), renewed by its agent. Not a Node
/// write and not in history, so heartbeats cost one small put and never touch the Node object or its watchers.
/// The node lifecycle controller reads them to decide Ready / NotReady.
public enum NodeLeases {
    public static let prefix = "/leases/nodes/"
    public static let defaultDurationSeconds = 6
    public static let durationRange = 1...3600

    public static func key(_ node: String) -> String { prefix + node }

    public static func renew(_ node: String, durationSeconds: Int?, holder: String, store: any Store) async throws(
        KumoError
    ) -> JSONValue {
        let duration = durationSeconds ?? defaultDurationSeconds
        guard durationRange.contains(duration) else {
            throw KumoError(.invalid, "durationSeconds must be between 1 and 3600", field: "durationSeconds")
        }
        do {
            guard try await store.get(ObjectRef(.node, name: node).storeKey) != nil else {
                throw KumoError(.notFound, "node \"\(node)\" not found: register it before renewing its lease")
            }
            let lease: JSONValue = [
                "node": .string(node), "holder": .string(holder), "renewTime": .string(ObjectCodec.now()),
                "durationSeconds": .number(Double(duration)),
            ]
            let revision = try await store.commit(Txn(operations: [.put(key(node), lease.serialized())]))
            var shown = lease
            shown["revision"] = .string(String(revision))
            return shown
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "failed to renew lease of \(node): \(error)", cause: error)
        }
    }

    public static func get(_ node: String, store: any Store) async throws(KumoError) -> JSONValue {
        let kv: KeyValue?
        do {
            kv = try await store.get(key(node))
        } catch {
            throw KumoError(.unavailable, "failed to read lease of \(node): \(error)", cause: error)
        }
        guard let kv else { throw KumoError(.notFound, "node \"\(node)\" has no lease (its agent never reported)") }
        var lease = try JSONValue(parsing: kv.value)
        lease["revision"] = .string(String(kv.modRevision))
        return lease
    }
}
