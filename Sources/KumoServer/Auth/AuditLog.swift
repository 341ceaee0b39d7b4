import Foundation
import KumoModel
import KumoStore
import Logging
import Synchronization

/// One authentication failure, authorization denial or rate-limited request.
public struct AuditRecord: Codable, Sendable, Equatable {
    public var time: String
    /// unauthenticated | expired | forbidden | rateLimited
    public var reason: String
    /// The identity (for denials), or what the caller presented (never a secret: `none`, `bearer`, `basic`, …).
    public var who: String
    public var method: String
    public var path: String
    /// The source address (IP) of the connection.
    public var source: String
    public var status: Int
    public var message: String
}

public struct AuditList: Codable, Sendable {
    public var items: [AuditRecord]
}

/// The audit trail of refused requests, in the store under `/audit/<time><seq>` (so it survives restarts and is in
/// backups), trimmed by age and count by the retention service. Recording is bounded by the failure limiter: a
/// rate-limited source costs one record per refused burst, not one per request.
public final class AuditLog: Sendable {
    static let prefix = "/audit/"
    let store: any Store
    let logger: Logger
    private let seq = Atomic<Int>(0)
    /// Rate-limited sources already recorded in their current limited spell (one record, not one per request).
    private let limitedNoted = Mutex<Set<String>>([])

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func record(_ r: AuditRecord) async {
        if r.reason == "rateLimited" {
            guard limitedNoted.withLock({ $0.insert(r.source).inserted }) else { return }
        } else {
            limitedNoted.withLock { _ = $0.remove(r.source) }
        }
        logger.info(
            "request refused",
            metadata: [
                "reason": "\(r.reason)", "who": "\(r.who)", "method": "\(r.method)", "path": "\(r.path)",
                "source": "\(r.source)", "status": "\(r.status)",
            ])
        let n = seq.wrappingAdd(1, ordering: .relaxed).oldValue % 1_000_000
        let ms = Timestamp.now().millisecondsSinceEpoch
        let key = Self.prefix + String(format: "%015lld%06d", ms, n)
        do {
            _ = try await store.commit(Txn(compares: [], operations: [.put(key, encodeJSON(r))]))
        } catch {
            logger.warning("failed to store an audit record", metadata: ["error": "\(error)"])
        }
    }

    /// Newest first, filtered.
    public func query(limit: Int = 100, reason: String? = nil, source: String? = nil) async throws(KumoError) -> [AuditRecord] {
        let page: ListResult
        do {
            page = try await store.list(prefix: Self.prefix, startAfter: nil, limit: nil)
        } catch {
            throw KumoError(.unavailable, "failed to read the audit log: \(error)", cause: error)
        }
        var out: [AuditRecord] = []
        for kv in page.items.reversed() {
            guard let r = try? decode(jsonBytes: kv.value, as: AuditRecord.self) else { continue }
            if let reason, r.reason != reason { continue }
            if let source, r.source != source { continue }
            out.append(r)
            if out.count >= limit { break }
        }
        return out
    }

    /// Removes records older than `maxAge` and all but the newest `maxCount`. Returns how many went.
    func trim(now: Date, maxAge: Duration, maxCount: Int) async throws -> Int {
        let page = try await store.list(prefix: Self.prefix, startAfter: nil, limit: nil)
        let cutoff = Int64((now.timeIntervalSince1970 - maxAge.secondsValue) * 1000)
        var doomed: [String] = []
        let excess = page.items.count - maxCount
        for (i, kv) in page.items.enumerated() {
            let ms = Int64(kv.key.dropFirst(Self.prefix.count).prefix(15)) ?? 0
            if i < excess || ms < cutoff { doomed.append(kv.key) } else { break }
        }
        for chunk in stride(from: 0, to: doomed.count, by: 500) {
            let ops = doomed[chunk..<min(chunk + 500, doomed.count)].map { Operation.delete($0) }
            _ = try await store.commit(Txn(compares: [], operations: Array(ops)))
        }
        return doomed.count
    }
}
