import Foundation
import GRDB
import KumoModel

/// Reads the change log for watch replay, one page per read transaction.
struct LogReader: Sendable {
    struct Page: Sendable {
        /// Events in revision order; a page always ends on a whole revision.
        var events: [WatchEvent]
        /// The page hit its size limit: more rows may follow.
        var full: Bool
    }

    let dbPool: DatabasePool
    let prefix: String
    let pageSize: Int

    /// Log events for the prefix with revision > `after`. Throws `.gone` when the log has been compacted past
    /// `after` (checked in the same snapshot as the rows are read).
    func page(after revision: Int64) async throws -> Page {
        let prefix = prefix
        let pageSize = pageSize
        return try await dbPool.read { db in
            try Self.page(after: revision, prefix: prefix, pageSize: pageSize, in: db)
        }
    }

    static func page(after revision: Int64, prefix: String, pageSize: Int, in db: Database) throws -> Page {
        let compacted = try SQLiteStore.readMeta(db).compacted
        if compacted > revision {
            throw KumoError(
                .gone,
                "failed to watch: revision \(revision) has been compacted (compacted through \(compacted))")
        }
        let range = KeyRange(prefix: prefix)
        let upperClause = range.upper == nil ? "" : " AND key < :upper"
        var arguments: StatementArguments = ["after": revision, "lower": range.lower, "limit": pageSize]
        if let upper = range.upper { arguments += ["upper": upper] }
        let columns = "id, revision, key, type, value, create_rev, version"
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT \(columns) FROM log
                    WHERE revision > :after AND key >= :lower\(upperClause)
                    ORDER BY revision, id LIMIT :limit
                    """),
            arguments: arguments)
        var events = try rows.map(event(from:))
        let full = rows.count >= pageSize
        if full, let last = rows.last {
            // Finish the last revision so the page ends on a whole revision.
            var rest: StatementArguments = [
                "revision": try last.decode(Int64.self, atIndex: 1), "id": try last.decode(Int64.self, atIndex: 0),
                "lower": range.lower,
            ]
            if let upper = range.upper { rest += ["upper": upper] }
            let more = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(columns) FROM log
                        WHERE revision = :revision AND id > :id AND key >= :lower\(upperClause)
                        ORDER BY id
                        """),
                arguments: rest)
            events += try more.map(event(from:))
        }
        return Page(events: events, full: full)
    }

    private static func event(from row: Row) throws -> WatchEvent {
        let revision = try row.decode(Int64.self, atIndex: 1)
        let key = String(keyData: try row.decode(Data.self, atIndex: 2))
        let type = try row.decode(Int64.self, atIndex: 3)
        let value = [UInt8](try row.decode(Data?.self, atIndex: 4) ?? Data())
        let createRevision = try row.decode(Int64.self, atIndex: 5)
        let version = try row.decode(Int64.self, atIndex: 6)
        let kv = KeyValue(key: key, value: value, createRevision: createRevision, modRevision: revision,
                          version: version)
        if type == BatchWriter.deleteType {
            return WatchEvent(type: .delete, kv: kv, isCreate: false)
        }
        return WatchEvent(type: .put, kv: kv, isCreate: version == 1)
    }
}
