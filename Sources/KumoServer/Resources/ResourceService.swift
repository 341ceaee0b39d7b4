import Foundation
import KumoAPI
import KumoModel
import KumoStore
import Logging

/// Create, read, update, patch, apply and delete objects: validation, optimistic concurrency, field ownership
/// and history, each write one atomic store transaction (object + history record [+ event]).
///
/// Used by the HTTP layer and by in-process components (controllers, scheduler) alike.
public struct ResourceService: Sendable {
    public let store: any Store
    public let logger: Logger
    /// Node subnets and addresses.
    public let ipam: IPAM
    /// Seals Secret values before they reach the store and opens them for reads.
    public let secrets: SecretKeyring
    /// How often a write without a client precondition re-reads and retries after losing a race.
    static let maxAttempts = 16

    /// Without `secrets`, Secret values are sealed under an in-memory key (unreadable after a restart).
    public init(
        store: any Store, logger: Logger, ipam: IPAM = IPAM(cluster: IPv4Network(IPAM.defaultClusterCIDR)!),
        secrets: SecretKeyring? = nil
    ) {
        self.store = store
        self.logger = logger
        self.ipam = ipam
        self.secrets = secrets ?? SecretKeyring(inMemory: logger)
    }

    // MARK: Read

    public func get(_ ref: ObjectRef) async throws(KumoError) -> StoredObject {
        guard let kv = try await kumo({ try await store.get(ref.storeKey) }) else {
            throw KumoError(.notFound, "\(ref.kind.rawValue.lowercased()) \"\(ref.name)\" not found\(inProject(ref))")
        }
        let stored = try opened(try ObjectCodec.decodeStored(kv.value, key: kv.key))
        return StoredObject(object: ObjectCodec.served(stored, revision: kv.modRevision), revision: kv.modRevision)
    }

    public func list(
        _ kind: Kind, project: String?, filter: ListFilter = ListFilter(), limit: Int? = nil,
        continueToken: String? = nil
    ) async throws(KumoError) -> ListPage {
        let prefix = StoreKeys.collectionPrefix(kind, project: project)
        var cursor: String? = nil
        if let continueToken {
            guard let data = Data(base64Encoded: continueToken), let key = String(data: data, encoding: .utf8),
                key.hasPrefix(prefix)
            else {
                throw KumoError(.badRequest, "invalid continue token", field: "continue")
            }
            cursor = key
        }
        var items: [JSONValue] = []
        var revision: Int64? = nil
        let batch = min(max(limit ?? 500, 1), 500)
        while true {
            let page = try await kumo { try await store.list(prefix: prefix, startAfter: cursor, limit: batch) }
            if revision == nil { revision = page.revision }
            for kv in page.items {
                cursor = kv.key
                let stored = try ObjectCodec.decodeStored(kv.value, key: kv.key)
                let object = ObjectCodec.served(openedLeniently(stored), revision: kv.modRevision)
                guard filter.matches(object) else { continue }
                items.append(object)
                if let limit, items.count >= limit {
                    // More may follow; hand out the cursor only if the store has anything after it.
                    let more = try await kumo { try await store.list(prefix: prefix, startAfter: kv.key, limit: 1) }
                    let token = more.items.isEmpty ? nil : Data(kv.key.utf8).base64EncodedString()
                    return ListPage(items: items, revision: revision ?? page.revision, continueToken: token)
                }
            }
            if !page.more { break }
        }
        return ListPage(items: items, revision: revision ?? 0, continueToken: nil)
    }

    // MARK: Write

    public func create(_ kind: Kind, project: String?, body: JSONValue, options: WriteOptions) async throws(KumoError)
        -> StoredObject
    {
        guard body.objectValue != nil else {
            throw KumoError(.invalid, "expected a JSON object with metadata and spec", field: "")
        }
        guard let name = body["metadata"]?["name"]?.stringValue, !name.isEmpty else {
            throw KumoError(.invalid, "metadata.name is required", field: "metadata.name")
        }
        let ref = ObjectRef(kind, project: try checkedProject(kind, project, body: body), name: name)
        var input = ObjectCodec.strippingServerFields(body)
        setProject(ref.project, in: &input)
        let canonical = try kind.canonicalize(input)
        for attempt in 0..<Self.maxAttempts {
            let lease = secretLease(ref)
            defer { releaseSecretLease(lease) }
            var object = canonical
            var ownership = FieldOwnership(old: nil, new: object, owners: [:], manager: options.manager, force: false)
            let admitted = try await admitCreate(ref, &object, canonical: canonical, attempt: attempt)
            for (field, owner) in admitted.owners { ownership.owners[field] = owner }
            var compares: [Compare] = [.absent(ref.storeKey)] + admitted.compares
            var ops: [KumoStore.Operation] = admitted.operations
            let now = ObjectCodec.now()
            setServerFields(&object, uid: UUID().uuidString.lowercased(), createdAt: now, owners: ownership.owners)
            let entry = HistoryEntry(
                time: now, manager: options.manager, operation: "create",
                patch: historyPatch(ref, from: .null, to: ObjectCodec.withoutManagedFields(object)))
            if let p = ref.project { compares.append(.exists(ObjectRef(.project, name: p).storeKey)) }
            ops += [
                .put(ref.storeKey, try sealedForStore(object, previous: nil, lease: lease).serialized()),
                .put(HistoryStore.key(for: ref), HistoryStore.encode(entry)),
            ]
            do {
                let revision = try await store.commit(Txn(compares: compares, operations: ops))
                return StoredObject(object: ObjectCodec.served(object, revision: revision), revision: revision)
            } catch let e as KumoError where e.code == .conflict {
                if e.field == ref.storeKey {
                    throw KumoError(
                        .alreadyExists, "\(kind.rawValue.lowercased()) \"\(name)\" already exists\(inProject(ref))",
                        field: "metadata.name")
                }
                switch await createRecordConflict(e, canonical: canonical) {
                case .fail(let mapped): throw mapped
                case .retry: continue
                case nil: break
                }
                throw KumoError(.notFound, "project \"\(ref.project ?? "")\" not found", field: "metadata.project")
            } catch {
                throw storeError(error, "create \(ref)")
            }
        }
        throw KumoError(.conflict, "failed to create \(ref): too many concurrent changes; retry")
    }

    /// PUT: replace the object. A body without `status` keeps the stored status.
    public func update(_ ref: ObjectRef, body: JSONValue, options: WriteOptions) async throws(KumoError) -> StoredObject {
        try requireNamesURLObject(ref, body)
        let precondition = try ObjectCodec.resourceVersionPrecondition(body)
        return try await modify(ref, operation: "update", precondition: precondition, options: options) { current in
            var desired = ObjectCodec.strippingServerFields(body)
            if desired["status"] == nil, let status = current["status"] { desired["status"] = status }
            return desired
        }
    }

    /// PATCH (RFC 7386 JSON merge patch).
    public func patch(_ ref: ObjectRef, patch: JSONValue, options: WriteOptions) async throws(KumoError) -> StoredObject {
        guard patch.objectValue != nil else {
            throw KumoError(.invalid, "a merge patch must be a JSON object", field: "")
        }
        let precondition = try ObjectCodec.resourceVersionPrecondition(patch)
        let cleaned = ObjectCodec.strippingServerFields(patch)
        return try await modify(ref, operation: "patch", precondition: precondition, options: options) { current in
            JSONMergePatch.apply(cleaned, to: current)
        }
    }

    /// Server-side apply: create if absent; otherwise lay the applied fields over the object and drop the fields
    /// this manager applied before but no longer does. Other managers' fields stay.
    public func apply(_ ref: ObjectRef, body: JSONValue, options: WriteOptions) async throws(KumoError) -> (
        StoredObject, created: Bool
    ) {
        // as for PUT: without this an apply to /images/a naming "b" created b, and on an existing object a
        // different name or project was silently dropped (found by make fuzz)
        try requireNamesURLObject(ref, body)
        for _ in 0..<Self.maxAttempts {
            let exists = try await kumo { try await store.get(ref.storeKey) } != nil
            if !exists {
                do {
                    return (try await create(ref.kind, project: ref.project, body: body, options: options), true)
                } catch let e where e.code == .alreadyExists {
                    continue  // created concurrently: apply over it
                }
            }
            let precondition = try ObjectCodec.resourceVersionPrecondition(body)
            let applied = ObjectCodec.strippingServerFields(body)
            do {
                let result = try await modify(ref, operation: "apply", precondition: precondition, options: options) {
                    current in
                    let owners = ownersOf(current)
                    return FieldOwnership.applied(applied, over: current, owners: owners, manager: options.manager)
                }
                return (result, false)
            } catch let e where e.code == .notFound {
                continue  // deleted concurrently: create it
            }
        }
        throw KumoError(.conflict, "failed to apply \(ref): the object keeps changing; retry")
    }

    /// Deletes an object. A Project that still holds objects → 409 unless `cascade`.
    /// Deletes an object. A Replica or Instance bound to a node is deleted gracefully unless `force`: it is
    /// first marked (`metadata.deletionTimestamp`, status phase Terminating) and its node's agent stops it —
    /// taken out of load balancers, SIGTERM, grace period, SIGKILL — and then deletes it for good. A delete by
    /// that node's own token, or with `force`, removes the object at once.
    public func delete(
        _ ref: ObjectRef, precondition: Int64?, cascade: Bool, force: Bool = false, options: WriteOptions
    ) async throws(KumoError) -> StoredObject {
        try await admitDelete(ref, cascade: cascade, options: options)
        for _ in 0..<Self.maxAttempts {
            guard let kv = try await kumo({ try await store.get(ref.storeKey) }) else {
                throw KumoError(.notFound, "\(ref.kind.rawValue.lowercased()) \"\(ref.name)\" not found\(inProject(ref))")
            }
            if let precondition, precondition != kv.modRevision {
                throw staleError(ref, sent: precondition, actual: kv.modRevision)
            }
            let stored = openedLeniently(try ObjectCodec.decodeStored(kv.value, key: kv.key))
            if !force, let node = Self.gracefulDeletionNode(ref, stored, manager: options.manager) {
                if stored["metadata"]?["deletionTimestamp"] != nil {
                    return StoredObject(object: ObjectCodec.served(stored, revision: kv.modRevision), revision: kv.modRevision, changed: false)
                }
                do {
                    return try await markTerminating(ref, stored, modRevision: kv.modRevision, node: node, options: options)
                } catch let e where e.code == .conflict && precondition == nil {
                    continue
                }
            }
            let entry = HistoryEntry(
                time: ObjectCodec.now(), manager: options.manager, operation: "delete",
                patch: [JSONPatchOperation(op: .remove, path: "")])
            let operations: [KumoStore.Operation] = [
                .delete(ref.storeKey), .put(HistoryStore.key(for: ref), HistoryStore.encode(entry)),
            ] + releasedRecords(ref, stored)
            let txn = Txn(compares: [.modRevision(ref.storeKey, equals: kv.modRevision)], operations: operations)
            do {
                let revision = try await store.commit(txn)
                await deleted(ref, stored)
                return StoredObject(object: ObjectCodec.served(stored, revision: revision), revision: revision)
            } catch let e as KumoError where e.code == .conflict && precondition == nil {
                continue
            } catch let e as KumoError where e.code == .conflict {
                throw KumoError(.conflict, "\(ref) changed while deleting it: \(e.message)")
            } catch {
                throw storeError(error, "delete \(ref)")
            }
        }
        throw KumoError(.conflict, "failed to delete \(ref): the object keeps changing; retry")
    }

    public func history(_ ref: ObjectRef, limit: Int? = nil) async throws(KumoError) -> HistoryList {
        let page = try await kumo { try await store.list(prefix: ref.historyPrefix, startAfter: nil, limit: nil) }
        var items = page.items.compactMap { kv -> HistoryEntry? in
            guard var entry = HistoryStore.decode(kv.value) else { return nil }
            entry.revision = kv.modRevision
            return entry
        }
        items.sort { ($0.revision ?? 0) < ($1.revision ?? 0) }
        if let limit, items.count > limit { items = Array(items.suffix(limit)) }
        if items.isEmpty {
            throw KumoError(.notFound, "no history for \(ref.kind.rawValue.lowercased()) \"\(ref.name)\"\(inProject(ref))")
        }
        return HistoryList(kind: ref.kind.rawValue, project: ref.project, name: ref.name, items: items)
    }

    // MARK: The write loop

    /// Read → transform → validate → ownership → diff → compare-and-swap, retried when another writer won the
    /// race and the client gave no precondition.
    func modify(
        _ ref: ObjectRef, operation: String, precondition: Int64?, options: WriteOptions,
        transform: (JSONValue) throws(KumoError) -> JSONValue
    ) async throws(KumoError) -> StoredObject {
        for _ in 0..<Self.maxAttempts {
            let lease = secretLease(ref)
            defer { releaseSecretLease(lease) }
            guard let kv = try await kumo({ try await store.get(ref.storeKey) }) else {
                throw KumoError(.notFound, "\(ref.kind.rawValue.lowercased()) \"\(ref.name)\" not found\(inProject(ref))")
            }
            if let precondition, precondition != kv.modRevision {
                throw staleError(ref, sent: precondition, actual: kv.modRevision)
            }
            let storedCurrent = try ObjectCodec.decodeStored(kv.value, key: kv.key)
            let current = try opened(storedCurrent)
            var desired = try transform(current)
            guard desired.objectValue != nil else { throw KumoError(.invalid, "the result is not an object", field: "") }
            try keepIdentity(&desired, of: current, ref: ref)
            var object = try ref.kind.canonicalize(ObjectCodec.strippingServerFields(desired))
            let records = try await admitChange(ref, old: current, new: &object)
            let owners = ownersOf(current)
            let ownership = FieldOwnership(
                old: current, new: object, owners: owners, manager: options.manager, force: options.force)
            if let first = ownership.conflicts.first {
                let list = ownership.conflicts.map(\.description).joined(separator: ", ")
                throw KumoError(
                    .ownershipConflict,
                    "failed to \(operation) \(ref): would change fields owned by another manager: \(list); "
                        + "leave them out (merge patch), or take them over with ?force=true",
                    field: first.field)
            }
            setServerFields(
                &object, uid: current["metadata"]?["uid"]?.stringValue,
                createdAt: current["metadata"]?["createdAt"]?.stringValue, owners: ownership.owners)
            if let deleting = current["metadata"]?["deletionTimestamp"], var meta = object["metadata"]?.objectValue {
                meta["deletionTimestamp"] = deleting  // a requested deletion cannot be taken back
                object["metadata"] = .object(meta)
            }
            if object == current {
                return StoredObject(
                    object: ObjectCodec.served(current, revision: kv.modRevision), revision: kv.modRevision, changed: false)
            }
            try await refuseConflictingChange(ref, old: current, new: object, manager: options.manager)
            let now = ObjectCodec.now()
            let entry = HistoryEntry(
                time: now, manager: options.manager, operation: operation,
                patch: historyPatch(
                    ref, from: ObjectCodec.withoutManagedFields(current), to: ObjectCodec.withoutManagedFields(object)),
                forced: ownership.transfers.isEmpty
                    ? nil : ownership.transfers.map { .init(field: $0.field, previousOwner: $0.previousOwner) })
            var ops: [KumoStore.Operation] = [
                .put(ref.storeKey, try sealedForStore(object, previous: storedCurrent, lease: lease).serialized()),
                .put(HistoryStore.key(for: ref), HistoryStore.encode(entry)),
            ] + records.operations
            if !ownership.transfers.isEmpty {
                let fields = ownership.transfers.map { "\($0.field) from \($0.previousOwner)" }.joined(separator: ", ")
                let event = EventFactory.make(
                    regarding: ref, reason: "OwnershipForced", type: "Warning", source: options.manager,
                    message: "\(options.manager) took ownership of \(fields) with force")
                ops.append(.put(event.key, event.bytes))
            }
            do {
                let revision = try await store.commit(
                    Txn(compares: [.modRevision(ref.storeKey, equals: kv.modRevision)] + records.compares, operations: ops))
                return StoredObject(object: ObjectCodec.served(object, revision: revision), revision: revision)
            } catch let e as KumoError where e.code == .conflict {
                if let mapped = await changeRecordConflict(e) { throw mapped }
                if precondition != nil {
                    throw KumoError(.conflict, "\(ref) was changed by another writer; re-read and retry", field: "metadata.resourceVersion")
                }
                continue
            } catch {
                throw storeError(error, "\(operation) \(ref)")
            }
        }
        throw KumoError(.conflict, "failed to \(operation) \(ref): the object keeps changing; retry")
    }

    // MARK: Helpers

    func ownersOf(_ object: JSONValue) -> [String: String] {
        var owners: [String: String] = [:]
        for (k, v) in object["metadata"]?["managedFields"]?.objectValue ?? [:] { owners[k] = v.stringValue }
        return owners
    }

    private func setServerFields(_ object: inout JSONValue, uid: String?, createdAt: String?, owners: [String: String]) {
        guard var meta = object["metadata"]?.objectValue else { return }
        meta["uid"] = uid.map { .string($0) }
        meta["createdAt"] = createdAt.map { .string($0) }
        meta["managedFields"] = owners.isEmpty ? nil : .object(owners.mapValues { .string($0) })
        meta["resourceVersion"] = nil
        object["metadata"] = .object(meta)
    }

    private func keepIdentity(_ desired: inout JSONValue, of current: JSONValue, ref: ObjectRef) throws(KumoError) {
        guard var meta = desired["metadata"]?.objectValue else {
            throw KumoError(.invalid, "metadata is required", field: "metadata")
        }
        if let n = meta["name"], n != .string(ref.name) {
            throw KumoError(.invalid, "metadata.name cannot be changed", field: "metadata.name")
        }
        meta["name"] = .string(ref.name)
        if let p = meta["project"], !p.isNull, p != current["metadata"]?["project"] {
            throw KumoError(.invalid, "metadata.project cannot be changed", field: "metadata.project")
        }
        meta["project"] = current["metadata"]?["project"]
        desired["metadata"] = .object(meta)
    }

    /// A PUT or apply body is a JSON object about the object of its URL: the same kind and name (when it gives
    /// them) and project.
    private func requireNamesURLObject(_ ref: ObjectRef, _ body: JSONValue) throws(KumoError) {
        guard body.objectValue != nil else {
            throw KumoError(.invalid, "expected a JSON object with metadata and spec", field: "")
        }
        if let k = body["kind"], k.stringValue != ref.kind.rawValue {
            throw KumoError(.invalid, "kind must be \"\(ref.kind.rawValue)\" here, not \(String(decoding: k.serialized(), as: UTF8.self))", field: "kind")
        }
        if let n = body["metadata"]?["name"]?.stringValue, n != ref.name {
            throw KumoError(.invalid, "metadata.name \"\(n)\" does not match the URL (\"\(ref.name)\")", field: "metadata.name")
        }
        _ = try checkedProject(ref.kind, ref.project, body: body)
    }

    private func checkedProject(_ kind: Kind, _ project: String?, body: JSONValue) throws(KumoError) -> String? {
        let bodyProject = body["metadata"]?["project"]?.stringValue
        switch kind.scope {
        case .cluster:
            if let bodyProject {
                throw KumoError(
                    .invalid, "\(kind.plural) are cluster-scoped: metadata.project \"\(bodyProject)\" is not allowed",
                    field: "metadata.project")
            }
            return nil
        case .project, .either:
            if let bodyProject, let project, bodyProject != project {
                throw KumoError(
                    .invalid, "metadata.project \"\(bodyProject)\" does not match the URL's project \"\(project)\"",
                    field: "metadata.project")
            }
            if kind.scope == .project && project == nil {
                throw KumoError(
                    .invalid, "\(kind.plural) live in a project: use /api/v1/projects/{project}/\(kind.plural)",
                    field: "metadata.project")
            }
            return project
        }
    }

    private func setProject(_ project: String?, in object: inout JSONValue) {
        guard var meta = object["metadata"]?.objectValue else { return }
        meta["project"] = project.map { .string($0) }
        object["metadata"] = .object(meta)
    }

    func inProject(_ ref: ObjectRef) -> String {
        ref.project.map { " in project \"\($0)\"" } ?? ""
    }

    func staleError(_ ref: ObjectRef, sent: Int64, actual: Int64) -> KumoError {
        KumoError(
            .conflict,
            "\(ref) has changed: resourceVersion \(sent) is stale (now \(actual)); re-read the object and retry",
            field: "metadata.resourceVersion")
    }

    func storeError(_ error: any Error, _ op: String) -> KumoError {
        if let e = error as? KumoError { return e }
        return KumoError(.unavailable, "failed to \(op): store error: \(error)", cause: error)
    }

    /// Runs a store call, turning any error into a `KumoError`.
    func kumo<T>(_ body: () async throws -> T) async throws(KumoError) -> T {
        do {
            return try await body()
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "store error: \(error)", cause: error)
        }
    }
}

extension ResourceService {
    /// The node whose agent must stop `object` before it goes away, if its deletion should be graceful: a bound
    /// Replica/Instance deleted by anyone but that node.
    static func gracefulDeletionNode(_ ref: ObjectRef, _ object: JSONValue, manager: String) -> String? {
        guard ref.kind == .replica || ref.kind == .instance,
            let node = object["spec"]?["nodeName"]?.stringValue, !node.isEmpty
        else { return nil }
        let nodeManager = "node/\(node)"
        if manager == nodeManager || manager.hasPrefix(nodeManager + "/") { return nil }
        return node
    }

    /// Phase one of a graceful deletion: one write sets `metadata.deletionTimestamp` and status phase
    /// Terminating (server fields: field owners are left as they are), recorded in history.
    func markTerminating(
        _ ref: ObjectRef, _ stored: JSONValue, modRevision: Int64, node: String, options: WriteOptions
    ) async throws(KumoError) -> StoredObject {
        var object = stored
        let now = ObjectCodec.now()
        var meta = object["metadata"]?.objectValue ?? [:]
        meta["deletionTimestamp"] = .string(now)
        object["metadata"] = .object(meta)
        var status = object["status"]?.objectValue ?? [:]
        status["phase"] = .string("Terminating")
        if ref.kind == .replica { status["ready"] = .bool(false) }  // instances have no readiness field
        status["reason"] = .string("Deleting")
        status["message"] = .string("deletion requested by \(options.manager); node \(node) stops it")
        object["status"] = .object(status)
        let entry = HistoryEntry(
            time: now, manager: options.manager, operation: "delete",
            patch: JSONPatch.diff(from: ObjectCodec.withoutManagedFields(stored), to: ObjectCodec.withoutManagedFields(object)))
        let txn = Txn(
            compares: [.modRevision(ref.storeKey, equals: modRevision)],
            operations: [.put(ref.storeKey, object.serialized()), .put(HistoryStore.key(for: ref), HistoryStore.encode(entry))])
        do {
            let revision = try await store.commit(txn)
            return StoredObject(object: ObjectCodec.served(object, revision: revision), revision: revision)
        } catch let e as KumoError {
            throw e
        } catch {
            throw storeError(error, "delete \(ref)")
        }
    }
}

extension ResourceService {
    /// Two nodes publishing the same underlay address would send each other's VXLAN traffic astray: a node
    /// whose `status.overlay.publicIP` is already another node's is refused (409), with a Warning event.
    func refuseOverlayAddressCollision(_ ref: ObjectRef, old: JSONValue, new: JSONValue, manager: String) async throws(KumoError) {
        guard let ip = new["status"]?["overlay"]?["publicIP"]?.stringValue,
            ip != old["status"]?["overlay"]?["publicIP"]?.stringValue
        else { return }
        let prefix = String(ref.storeKey.dropLast(ref.name.count))
        let page = try await kumo { try await store.list(prefix: prefix, startAfter: nil, limit: nil) }
        for kv in page.items where kv.key != ref.storeKey {
            guard let other = try? JSONValue(parsing: kv.value), other["status"]?["overlay"]?["publicIP"]?.stringValue == ip
            else { continue }
            let owner = other["metadata"]?["name"]?.stringValue ?? "?"
            let message = "node \(ref.name) reported overlay publicIP \(ip), which node \(owner) already uses; refused (write by \(manager))"
            let event = EventFactory.make(regarding: ref, reason: "OverlayAddressConflict", type: "Warning", source: "api", message: message)
            _ = try? await store.commit(Txn(operations: [.put(event.key, event.bytes)]))
            throw KumoError(.conflict, message, field: "status.overlay.publicIP")
        }
    }
}
