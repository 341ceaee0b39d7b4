import Foundation
import KumoAPI
import KumoModel

/// History records live next to the objects in the store, under `/history/<plural>/<project|_>/<name>/<time>-<rand>`,
/// written in the same transaction as the change they describe, so the record's store revision is the change's
/// revision. They survive restarts and are copied by backups; `RetentionService` trims them.
public enum HistoryStore {
    public static func key(for ref: ObjectRef, now: Date = Date()) -> String {
        let nanos = UInt64(max(0, now.timeIntervalSince1970) * 1_000_000_000)
        let digits = String(nanos)
        let padded = String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        return ref.historyPrefix + padded + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    public static func encode(_ entry: HistoryEntry) -> [UInt8] {
        var o: [String: JSONValue] = [
            "time": .string(entry.time), "manager": .string(entry.manager), "operation": .string(entry.operation),
            "patch": .array(entry.patch.map(\.json)),
        ]
        if let forced = entry.forced {
            o["forced"] = .array(
                forced.map { .object(["field": .string($0.field), "previousOwner": .string($0.previousOwner)]) })
        }
        return JSONValue.object(o).serialized()
    }

    public static func decode(_ bytes: [UInt8]) -> HistoryEntry? {
        try? KumoModel.decode(jsonBytes: bytes, as: HistoryEntry.self)
    }

    /// Nanoseconds since the epoch encoded in a history key (for retention by age).
    public static func timestamp(ofKey key: String) -> UInt64? {
        guard let last = key.split(separator: "/").last, let dash = last.firstIndex(of: "-") else { return nil }
        return UInt64(last[..<dash])
    }

    /// The object prefix of a history key (everything up to the last `/`).
    public static func objectPrefix(ofKey key: String) -> Substring {
        guard let slash = key.lastIndex(of: "/") else { return key[...] }
        return key[...slash]
    }
}
