import Foundation
import KumoModel
import KumoStore
import Logging
import ServiceLifecycle
import Synchronization

/// What retention did last, for `/debug/state`.
public final class RetentionState: Sendable {
    struct Snapshot: Sendable {
        var lastRun: String?
        var historyRemoved = 0
        var eventsRemoved = 0
        var compactedThrough: Int64 = 0
        var lastError: String?
    }
    private let state = Mutex(Snapshot())

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }

    public func snapshot() -> JSONValue {
        let s = state.withLock { $0 }
        var o: [String: JSONValue] = [
            "historyRemovedTotal": .number(Double(s.historyRemoved)), "eventsRemovedTotal": .number(Double(s.eventsRemoved)),
            "compactedThrough": .number(Double(s.compactedThrough)),
        ]
        if let r = s.lastRun { o["lastRun"] = .string(r) }
        if let e = s.lastError { o["lastError"] = .string(e) }
        return .object(o)
    }
}

/// Trims history (by age and count per object), expires events, compacts the store's change log, and collects
/// unreferenced image blobs, every
/// `retentionInterval`. A swift-service-lifecycle Service: stops on graceful shutdown.
public struct RetentionService: ServiceLifecycle.Service {
    let core: ServerCore

    public init(core: ServerCore) { self.core = core }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await runOnce()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: core.config.retentionInterval) }
            } catch {
                return
            }
        }
    }

    /// One pass; errors are logged and recorded, never thrown (retention must not take the server down).
    public func runOnce(now: Date = Date()) async {
        do {
            let history = try await trimHistory(now: now)
            let events = try await expireEvents(now: now)
            let compacted = try await compact()
            core.retentionState.update {
                $0.lastRun = ObjectCodec.now()
                $0.historyRemoved += history
                $0.eventsRemoved += events
                if let compacted { $0.compactedThrough = compacted }
                $0.lastError = nil
            }
        } catch {
            core.logger.warning("retention pass failed", metadata: ["error": "\(error)"])
            core.retentionState.update { $0.lastError = "\(error)" }
        }
        await core.images.collectGarbageLogging()
        do {
            _ = try await core.audit.trim(now: now, maxAge: core.config.auditMaxAge, maxCount: core.config.auditMaxRecords)
        } catch {
            core.logger.warning("audit retention failed", metadata: ["error": "\(error)"])
        }
    }

    func trimHistory(now: Date) async throws -> Int {
        let store = core.store
        let maxAgeNanos = UInt64(max(0, core.config.historyMaxAge.secondsValue * 1e9))
        let nowNanos = UInt64(now.timeIntervalSince1970 * 1_000_000_000)
        let cutoff = nowNanos > maxAgeNanos ? nowNanos - maxAgeNanos : 0
        let keep = max(1, core.config.historyMaxPerObject)
        var removed = 0
        var cursor: String? = nil
        var group: [String] = []
        var groupPrefix: Substring = ""
        var doomed: [String] = []

        func flush() {
            // keys sort by time within an object: the oldest first
            let excess = max(0, group.count - keep)
            for (i, key) in group.enumerated() {
                if i < excess || (HistoryStore.timestamp(ofKey: key) ?? 0) < cutoff { doomed.append(key) }
            }
            group.removeAll(keepingCapacity: true)
        }

        while true {
            let page = try await store.list(prefix: StoreKeys.history, startAfter: cursor, limit: 1000)
            for kv in page.items {
                let p = HistoryStore.objectPrefix(ofKey: kv.key)
                if p != groupPrefix {
                    flush()
                    groupPrefix = p
                }
                group.append(kv.key)
                cursor = kv.key
            }
            if doomed.count >= 100 {
                removed += try await deleteKeys(doomed)
                doomed.removeAll()
            }
            if !page.more { break }
        }
        flush()
        removed += try await deleteKeys(doomed)
        return removed
    }

    func expireEvents(now: Date) async throws -> Int {
        let cutoff = Timestamp(millisecondsSinceEpoch: Int64(now.timeIntervalSince1970 * 1000)) - core.config.eventTTL
        var doomed: [String] = []
        var cursor: String? = nil
        while true {
            let page = try await core.store.list(
                prefix: StoreKeys.collectionPrefix(.event, project: nil), startAfter: cursor, limit: 1000)
            for kv in page.items {
                cursor = kv.key
                guard let event = try? JSONValue(parsing: kv.value) else { continue }
                let stamp = event["spec"]?["lastTime"]?.stringValue ?? event["metadata"]?["createdAt"]?.stringValue ?? ""
                guard let time = Timestamp(rfc3339: stamp) else { continue }
                if time < cutoff { doomed.append(kv.key) }
            }
            if !page.more { break }
        }
        return try await deleteKeys(doomed)
    }

    func compact() async throws -> Int64? {
        let status = try await core.store.status()
        let target = status.revision - core.config.compactKeepRevisions
        guard target > status.compactedRevision else { return nil }
        try await core.store.compact(through: target)
        return target
    }

    /// Deletes keys in transactions of at most 100 operations (etcd's default limit is 128).
    func deleteKeys(_ keys: [String]) async throws -> Int {
        var i = 0
        while i < keys.count {
            let chunk = keys[i..<min(i + 100, keys.count)]
            _ = try await core.store.commit(Txn(compares: [], operations: chunk.map { .delete($0) }))
            i += 100
        }
        return keys.count
    }
}
