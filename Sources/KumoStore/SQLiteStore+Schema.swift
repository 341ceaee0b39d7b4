import GRDB

extension SQLiteStore {
    /// The on-disk schema (GRDB migrations, so later versions can add to it).
    ///
    /// - `kv`: the current state, one row per existing key (key as UTF-8 BLOB, so SQLite's byte order is the key
    ///   order and a prefix is an index range).
    /// - `log`: one row per change (`type` 0 = put with the new value, 1 = delete with the value before the
    ///   deletion), with `create_rev`/`version` so a replayed event is complete; rows of one revision are in
    ///   operation order (`id`).
    /// - `meta`: one row: `revision` (last committed revision) and `compacted_revision` (log rows at or below it
    ///   are gone). A fresh store is at revision 1 with compacted revision 0, so the first commit gets revision 2
    ///   (as in etcd); both survive restarts.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kv (
                        key BLOB NOT NULL PRIMARY KEY,
                        value BLOB NOT NULL,
                        create_rev INTEGER NOT NULL,
                        mod_rev INTEGER NOT NULL,
                        version INTEGER NOT NULL
                    );
                    CREATE TABLE log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        revision INTEGER NOT NULL,
                        key BLOB NOT NULL,
                        type INTEGER NOT NULL,
                        value BLOB NOT NULL,
                        create_rev INTEGER NOT NULL,
                        version INTEGER NOT NULL
                    );
                    CREATE INDEX log_revision ON log(revision);
                    CREATE TABLE meta (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        revision INTEGER NOT NULL,
                        compacted_revision INTEGER NOT NULL
                    );
                    INSERT INTO meta (id, revision, compacted_revision) VALUES (1, 1, 0);
                    """)
        }
        return migrator
    }

    /// `(revision, compactedRevision)` from the meta row.
    static func readMeta(_ db: Database) throws -> (revision: Int64, compacted: Int64) {
        let statement = try db.cachedStatement(sql: "SELECT revision, compacted_revision FROM meta WHERE id = 1")
        guard let row = try Row.fetchOne(statement) else {
            throw DatabaseError(message: "the meta row is missing")
        }
        return (try row.decode(Int64.self, atIndex: 0), try row.decode(Int64.self, atIndex: 1))
    }
}
