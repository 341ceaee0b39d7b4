import KumoModel

extension Store {
    /// Creates `key`; throws `KumoError(.alreadyExists, field: key)` when it exists. Returns the new revision.
    @discardableResult
    public func create(_ key: String, _ value: [UInt8]) async throws -> Int64 {
        do {
            return try await commit(Txn(compares: [.absent(key)], operations: [.put(key, value)]))
        } catch let error as KumoError where error.code == .conflict {
            throw KumoError(.alreadyExists, "failed to create \(key): it already exists", field: key, cause: error)
        }
    }

    /// Replaces `key`'s value if its mod revision is `ifModRevision`. Throws `.notFound` when the key is absent,
    /// `.conflict` when it was changed since. Returns the new revision.
    @discardableResult
    public func update(_ key: String, _ value: [UInt8], ifModRevision: Int64) async throws -> Int64 {
        do {
            return try await commit(
                Txn(compares: [.exists(key), .modRevision(key, equals: ifModRevision)], operations: [.put(key, value)]))
        } catch let error as KumoError where error.code == .conflict {
            throw try await Self.classify(error, key: key, in: self, operation: "update")
        }
    }

    /// Deletes `key` (if its mod revision is `ifModRevision`, when given). Throws `.notFound` when the key is
    /// absent, `.conflict` when it was changed since. Returns the revision of the deletion.
    @discardableResult
    public func delete(_ key: String, ifModRevision: Int64? = nil) async throws -> Int64 {
        var compares: [Compare] = [.exists(key)]
        if let ifModRevision { compares.append(.modRevision(key, equals: ifModRevision)) }
        do {
            return try await commit(Txn(compares: compares, operations: [.delete(key)]))
        } catch let error as KumoError where error.code == .conflict {
            throw try await Self.classify(error, key: key, in: self, operation: "delete")
        }
    }

    /// Compacts all but the last `count` revisions; returns the revision compacted through, or nil when there was
    /// nothing to compact.
    @discardableResult
    public func compact(keepingLast count: Int64) async throws -> Int64? {
        let status = try await status()
        let target = status.revision - max(0, count)
        guard target > status.compactedRevision else { return nil }
        try await compact(through: target)
        return target
    }

    /// A failed `.exists` + `.modRevision` compare: `.notFound` if the key is absent now, else `.conflict`.
    private static func classify(_ error: KumoError, key: String, in store: Self, operation: String) async throws
        -> KumoError
    {
        guard let current = try await store.get(key) else {
            return KumoError(.notFound, "failed to \(operation) \(key): not found", field: key, cause: error)
        }
        return KumoError(
            .conflict,
            "failed to \(operation) \(key): it was modified (now at revision \(current.modRevision))",
            field: key, cause: error)
    }
}
