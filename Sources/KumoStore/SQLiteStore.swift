import Foundation
import GRDB
import KumoModel
import Logging
import Synchronization

/// The embedded ``Store``: one SQLite database in WAL mode (GRDB `DatabasePool`, so reads never wait for the
/// writer), a single group-committing writer, and in-process watch fan-out.
///
/// Revisions: a fresh store is at revision 1 (compacted revision 0); the first change gets revision 2, as in etcd.
/// The revision, the data and the compacted revision survive restarts.
public final class SQLiteStore: Store {
    public let path: String
    public let options: Options
    let logger: Logger
    let dbPool: DatabasePool
    let hub: WatchHub
    let committer: GroupCommitter
    let counters: Counters

    /// In-memory copies of the meta row, updated after each commit/compaction, and the closed flag.
    final class Counters: Sendable {
        let revision: Atomic<Int64>
        let compacted: Atomic<Int64>
        let closed = Atomic<Bool>(false)

        init(revision: Int64, compacted: Int64) {
            self.revision = Atomic(revision)
            self.compacted = Atomic(compacted)
        }
    }

    /// Opens (creating the file and its directories, mode 0600/0700, as needed) the store at `path`.
    public init(path: String, options: Options = .init(), logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "store.path"] = "\(path)"
        self.path = path
        self.options = options
        self.logger = logger
        do {
            try Self.prepareFile(at: path)
            var configuration = Configuration()
            configuration.label = "kumo.store"
            configuration.busyMode = .timeout(5)
            configuration.maximumReaderCount = 8
            let pool = try DatabasePool(path: path, configuration: configuration)
            let (pragma, expected) = options.synchronous == .full ? ("FULL", 2) : ("NORMAL", 1)
            try pool.writeWithoutTransaction { db in
                // Per connection; only the writer connection writes. GRDB's pool default is NORMAL.
                try db.execute(sql: "PRAGMA synchronous = \(pragma)")
                let actual = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                guard actual == expected else {
                    throw KumoError(.internal, "PRAGMA synchronous is \(actual ?? -1), not \(pragma)")
                }
                // Truncate the WAL back to 64 MiB after checkpoints instead of keeping its peak size.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
            try Self.migrator.migrate(pool)
            let (current, compacted) = try pool.read { db in try Self.readMeta(db) }
            dbPool = pool
            counters = Counters(revision: current, compacted: compacted)
        } catch {
            throw KumoError(.unavailable, "failed to open store at \(path): \(error)", cause: error)
        }
        let hub = WatchHub(logger: logger)
        self.hub = hub
        let counters = counters
        committer = GroupCommitter(dbPool: dbPool, maxBatch: options.maxBatch, logger: logger) { outcome in
            counters.revision.store(outcome.revision, ordering: .releasing)
            hub.publish(outcome.events)
        }
        logger.info(
            "store opened",
            metadata: [
                "store.revision": "\(counters.revision.load(ordering: .relaxed))",
                "store.compactedRevision": "\(counters.compacted.load(ordering: .relaxed))",
                "store.synchronous": "\(options.synchronous.rawValue)",
            ])
    }

    private static func prepareFile(at path: String) throws {
        let fileManager = FileManager.default
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !fileManager.fileExists(atPath: directory) {
            try fileManager.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !fileManager.fileExists(atPath: path) {
            guard fileManager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw KumoError(.unavailable, "cannot create \(path)")
            }
        } else {
            try fileManager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }
}
