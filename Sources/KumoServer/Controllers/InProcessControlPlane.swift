import Foundation
import KumoControllers
import KumoModel
import KumoStore

/// The control plane as the in-process controllers see it: the same resource service as the API (validation,
/// ownership, history), and the store's watch for changes.
public struct InProcessControlPlane: ControlPlane {
    let core: ServerCore

    public init(core: ServerCore) { self.core = core }

    public func list(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        let page = try await core.resources.list(kind, project: nil)
        return (page.items, page.revision)
    }

    public func watch(_ kind: Kind, since: Int64) async throws(KumoError) -> AsyncThrowingStream<ObjectEvent, any Error> {
        let stream: AsyncThrowingStream<WatchEvent, any Error>
        do {
            stream = try await core.store.watch(prefix: StoreKeys.collectionPrefix(kind, project: nil), since: since)
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "failed to watch \(kind.plural): \(error)", cause: error)
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in stream {
                        let object = ObjectCodec.served(
                            try ObjectCodec.decodeStored(event.kv.value, key: event.kv.key), revision: event.kv.modRevision)
                        let type: ObjectEvent.EventType =
                            event.type == .delete ? .deleted : event.isCreate ? .added : .modified
                        continuation.yield(ObjectEvent(type: type, object: object, revision: event.kv.modRevision))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func create(_ kind: Kind, project: String?, _ object: JSONValue, manager: String) async throws(KumoError)
        -> JSONValue
    {
        try await core.resources.create(kind, project: project, body: object, options: WriteOptions(manager: manager)).object
    }

    public func patch(_ kind: Kind, project: String?, name: String, _ patch: JSONValue, manager: String, force: Bool)
        async throws(KumoError) -> JSONValue
    {
        try await core.resources.patch(
            ObjectRef(kind, project: project, name: name), patch: patch, options: WriteOptions(manager: manager, force: force)
        ).object
    }

    public func delete(_ kind: Kind, project: String?, name: String, manager: String, force: Bool) async throws(KumoError) {
        _ = try await core.resources.delete(
            ObjectRef(kind, project: project, name: name), precondition: nil, cascade: false, force: force,
            options: WriteOptions(manager: manager))
    }

    public func bind(
        _ kind: Kind, project: String, name: String, node: String, manager: String, annotations: [String: String]
    ) async throws(KumoError) -> JSONValue {
        try await core.resources.bind(
            ObjectRef(kind, project: project, name: name), toNode: node, manager: manager, annotations: annotations
        ).object
    }

    public func leases() async throws(KumoError) -> [JSONValue] {
        try await core.leases.all()
    }

    public func event(
        regarding kind: Kind, project: String?, name: String, reason: String, message: String, type: String, source: String
    ) async {
        let made = EventFactory.make(
            regarding: ObjectRef(kind, project: project, name: name), reason: reason, type: type, source: source,
            message: message)
        do {
            _ = try await core.store.commit(Txn(operations: [.put(made.key, made.bytes)]))
        } catch {
            // events are best effort (the action they describe is done), but a lost one is logged
            core.logger.warning(
                "failed to record an event", metadata: ["reason": "\(reason)", "object": "\(name)", "error": "\(error)"])
        }
    }
}
