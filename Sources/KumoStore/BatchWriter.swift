import Foundation
import GRDB
import KumoModel

/// What one group-commit transaction did: one result per submitted txn (in order), the events it produced in
/// revision order, and the store revision after it.
struct BatchOutcome: Sendable {
    var results: [Result<Int64, KumoError>]
    var events: [WatchEvent]
    var revision: Int64
}

/// Applies a batch of transactions inside one SQLite transaction (the caller opens and commits it).
///
/// Each txn is checked against the state left by the txns before it in the batch; a txn whose compare fails
/// changes nothing and gets a `.conflict`; each txn that changes something gets its own revision.
enum BatchWriter {
    static let putType: Int64 = 0
    static let deleteType: Int64 = 1

    static func apply(_ txns: [Txn], in db: Database) throws -> BatchOutcome {
        let start = try SQLiteStore.readMeta(db).revision
        var revision = start
        var results: [Result<Int64, KumoError>] = []
        results.reserveCapacity(txns.count)
        var events: [WatchEvent] = []
        events.reserveCapacity(txns.count)

        for txn in txns {
            if let failure = try firstFailure(of: txn.compares, in: db) {
                results.append(.failure(failure))
                continue
            }
            let next = revision + 1
            var changed = false
            for operation in txn.operations {
                switch operation {
                case .put(let key, let value):
                    events.append(try put(key, value, revision: next, in: db))
                    changed = true
                case .delete(let key):
                    if let event = try delete(key, revision: next, in: db) {
                        events.append(event)
                        changed = true
                    }
                }
            }
            if changed { revision = next }
            results.append(.success(revision))
        }
        if revision != start {
            try db.cachedStatement(sql: "UPDATE meta SET revision = ? WHERE id = 1").execute(arguments: [revision])
        }
        return BatchOutcome(results: results, events: events, revision: revision)
    }

    /// The `.conflict` error of the first compare that does not hold, or nil when all hold.
    static func firstFailure(of compares: [Compare], in db: Database) throws -> KumoError? {
        for compare in compares {
            let statement = try db.cachedStatement(sql: "SELECT mod_rev FROM kv WHERE key = ?")
            let modRevision = try Int64.fetchOne(statement, arguments: [compare.key.keyData])
            let reason: String?
            switch compare {
            case .absent(let key):
                reason = modRevision.map { "key \(key) exists (mod revision \($0))" }
            case .exists(let key):
                reason = modRevision == nil ? "key \(key) does not exist" : nil
            case .modRevision(let key, let expected):
                let actual = modRevision ?? 0
                reason = actual == expected ? nil : "key \(key) has mod revision \(actual), not \(expected)"
            }
            if let reason {
                return KumoError(.conflict, "failed to commit: compare failed: \(reason)", field: compare.key)
            }
        }
        return nil
    }

    static func put(_ key: String, _ value: [UInt8], revision: Int64, in db: Database) throws -> WatchEvent {
        let keyData = key.keyData
        let valueData = Data(value)
        let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT create_rev, version FROM kv WHERE key = ?"), arguments: [keyData])
        let createRevision = try existing?.decode(Int64.self, atIndex: 0) ?? revision
        let version = try (existing?.decode(Int64.self, atIndex: 1) ?? 0) + 1
        try db.cachedStatement(
            sql: """
                INSERT INTO kv (key, value, create_rev, mod_rev, version) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev,
                    version = excluded.version
                """
        ).execute(arguments: [keyData, valueData, createRevision, revision, version])
        try appendLog(revision: revision, key: keyData, type: putType, value: valueData,
                      createRevision: createRevision, version: version, in: db)
        let kv = KeyValue(key: key, value: value, createRevision: createRevision, modRevision: revision,
                          version: version)
        return WatchEvent(type: .put, kv: kv, isCreate: existing == nil)
    }

    /// nil when the key is absent (a no-op).
    static func delete(_ key: String, revision: Int64, in db: Database) throws -> WatchEvent? {
        let keyData = key.keyData
        guard
            let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT value, create_rev, version FROM kv WHERE key = ?"),
                arguments: [keyData])
        else { return nil }
        let valueData = try existing.decode(Data?.self, atIndex: 0) ?? Data()
        let createRevision = try existing.decode(Int64.self, atIndex: 1)
        let version = try existing.decode(Int64.self, atIndex: 2)
        try db.cachedStatement(sql: "DELETE FROM kv WHERE key = ?").execute(arguments: [keyData])
        try appendLog(revision: revision, key: keyData, type: deleteType, value: valueData,
                      createRevision: createRevision, version: version, in: db)
        let kv = KeyValue(key: key, value: [UInt8](valueData), createRevision: createRevision,
                          modRevision: revision, version: version)
        return WatchEvent(type: .delete, kv: kv, isCreate: false)
    }

    static func appendLog(
        revision: Int64, key: Data, type: Int64, value: Data, createRevision: Int64, version: Int64,
        in db: Database
    ) throws {
        try db.cachedStatement(
            sql: "INSERT INTO log (revision, key, type, value, create_rev, version) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [revision, key, type, value, createRevision, version])
    }
}
