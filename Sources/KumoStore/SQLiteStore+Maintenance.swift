import Foundation
import GRDB
import KumoModel

extension SQLiteStore {
    /// Deletes log rows at or below `revision` (in chunks, so commits interleave) after recording it as the
    /// compacted revision. A revision at or below the compacted one is a no-op; a future one is `.invalid`.
    public func compact(through revision: Int64) async throws {
        try ensureOpen("compact")
        do {
            let through = try await dbPool.write { db -> Int64 in
                let meta = try Self.readMeta(db)
                if revision > meta.revision {
                    throw KumoError(
                        .invalid,
                        "failed to compact: revision \(revision) is newer than the current revision \(meta.revision)",
                        field: "revision")
                }
                if revision > meta.compacted {
                    try db.execute(sql: "UPDATE meta SET compacted_revision = ? WHERE id = 1", arguments: [revision])
                }
                return max(revision, meta.compacted)
            }
            _ = counters.compacted.max(through, ordering: .acquiringAndReleasing)
            // Also finishes a deletion interrupted by a crash.
            let chunk = 5_000
            var deleted = 0
            while true {
                let count = try await dbPool.write { db -> Int in
                    try db.execute(
                        sql: """
                            DELETE FROM log WHERE id IN
                                (SELECT id FROM log WHERE revision <= ? ORDER BY revision LIMIT \(chunk))
                            """,
                        arguments: [through])
                    return db.changesCount
                }
                deleted += count
                if count < chunk { break }
            }
            logger.info(
                "store compacted", metadata: ["store.compactedRevision": "\(through)", "store.logRowsDeleted": "\(deleted)"])
        } catch {
            throw storeError("compact through \(revision)", error)
        }
    }

    public func status() async throws -> StoreStatus {
        try ensureOpen("read the store status")
        return StoreStatus(
            revision: counters.revision.load(ordering: .acquiring),
            compactedRevision: counters.compacted.load(ordering: .acquiring),
            watchers: hub.count,
            databaseBytes: Self.fileSize(path),
            walBytes: Self.fileSize(path + "-wal"),
            pendingWrites: committer.pendingCount)
    }

    /// SQLite's online backup from one read snapshot (writes go on meanwhile) into `path.partial`, then renamed
    /// over `path`. The copy opens as a ``SQLiteStore`` with the same data, revision and compacted revision.
    public func backup(to destination: String) async throws {
        try ensureOpen("back up")
        let source = URL(fileURLWithPath: path).standardizedFileURL.path
        let target = URL(fileURLWithPath: destination).standardizedFileURL.path
        if source == target {
            throw KumoError(.invalid, "failed to back up: the destination is the store itself", field: "path")
        }
        let partial = target + ".partial"
        let dbPool = dbPool
        do {
            let fileManager = FileManager.default
            let directory = URL(fileURLWithPath: target).deletingLastPathComponent().path
            try fileManager.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for leftover in [partial, partial + "-journal", partial + "-wal", partial + "-shm"]
            where fileManager.fileExists(atPath: leftover) {
                try fileManager.removeItem(atPath: leftover)
            }
            guard fileManager.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw KumoError(.internal, "failed to back up: cannot create \(partial)")
            }
            try await Self.runBlocking {
                let copy = try DatabaseQueue(path: partial)
                try dbPool.backup(to: copy)
                try copy.close()
            }
            guard rename(partial, target) == 0 else {
                throw KumoError(.internal, "failed to back up: cannot rename \(partial) to \(target): errno \(errno)")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw storeError("back up to \(destination)", error)
        }
        logger.info(
            "store backed up", metadata: ["backup.path": "\(target)", "backup.bytes": "\(Self.fileSize(target))"])
    }

    /// Moves everything in the write-ahead log into the database file and truncates the log, so the file alone
    /// holds every commit (before copying it as a whole, as a backup's extra record does).
    public func checkpoint() async throws {
        try ensureOpen("checkpoint")
        do {
            try await dbPool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        } catch {
            throw storeError("checkpoint", error)
        }
    }

    public func close() async {
        guard counters.closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
            .exchanged
        else { return }
        await committer.close()
        hub.close(with: KumoError(.unavailable, "the store was closed"))
        do {
            try dbPool.close()
        } catch {
            logger.warning("closing the database failed", metadata: ["error": "\(error)"])
        }
        logger.info("store closed", metadata: ["store.revision": "\(counters.revision.load(ordering: .acquiring))"])
    }

    static func fileSize(_ path: String) -> Int64 {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? NSNumber
        else { return 0 }
        return size.int64Value
    }

    /// Runs blocking GRDB work off the cooperative thread pool.
    static func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
