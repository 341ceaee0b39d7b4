import Foundation
import GRDB
import KumoModel

extension SQLiteStore {
    public func currentRevision() async throws -> Int64 {
        try ensureOpen("read the revision")
        return counters.revision.load(ordering: .acquiring)
    }

    public func get(_ key: String) async throws -> KeyValue? {
        try ensureOpen("get \(key)")
        do {
            // One SELECT is atomic on its own: no explicit read transaction needed.
            return try await dbPool.unsafeRead { db in
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(
                            sql: "SELECT key, value, create_rev, mod_rev, version FROM kv WHERE key = ?"),
                        arguments: [key.keyData])
                else { return nil }
                return try Self.keyValue(from: row)
            }
        } catch {
            throw storeError("get \(key)", error)
        }
    }

    public func list(prefix: String, startAfter: String?, limit: Int?) async throws -> ListResult {
        try ensureOpen("list \(prefix)")
        if let limit, limit < 0 {
            throw KumoError(.invalid, "failed to list \(prefix): limit must not be negative", field: "limit")
        }
        let range = KeyRange(prefix: prefix)
        var conditions = ["key >= :lower"]
        var arguments: StatementArguments = ["lower": range.lower, "limit": limit.map { $0 + 1 } ?? -1]
        if let upper = range.upper {
            conditions.append("key < :upper")
            arguments += ["upper": upper]
        }
        if let startAfter {
            conditions.append("key > :after")
            arguments += ["after": startAfter.keyData]
        }
        let sql = """
            SELECT key, value, create_rev, mod_rev, version FROM kv
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY key LIMIT :limit
            """
        let frozenArguments = arguments
        do {
            return try await dbPool.read { db in
                let revision = try Self.readMeta(db).revision
                var items = try Row.fetchAll(db.cachedStatement(sql: sql), arguments: frozenArguments)
                    .map(Self.keyValue(from:))
                var more = false
                if let limit, items.count > limit {
                    items.removeLast(items.count - limit)
                    more = true
                }
                return ListResult(items: items, revision: revision, more: more)
            }
        } catch {
            throw storeError("list \(prefix)", error)
        }
    }

    static func keyValue(from row: Row) throws -> KeyValue {
        KeyValue(
            key: String(keyData: try row.decode(Data.self, atIndex: 0)),
            value: [UInt8](try row.decode(Data?.self, atIndex: 1) ?? Data()),
            createRevision: try row.decode(Int64.self, atIndex: 2),
            modRevision: try row.decode(Int64.self, atIndex: 3),
            version: try row.decode(Int64.self, atIndex: 4))
    }

    func ensureOpen(_ operation: String) throws {
        if counters.closed.load(ordering: .acquiring) {
            throw KumoError(.unavailable, "failed to \(operation): the store is closed")
        }
    }

    /// `error` as a `KumoError`: kept when it is one, `.unavailable` once closed, else `.internal`.
    func storeError(_ operation: String, _ error: any Error) -> KumoError {
        if let error = error as? KumoError { return error }
        if counters.closed.load(ordering: .acquiring) {
            return KumoError(.unavailable, "failed to \(operation): the store is closed", cause: error)
        }
        return KumoError(.internal, "failed to \(operation): \(error)", cause: error)
    }
}
