import Foundation
import KumoModel

/// Stored form ↔ served form. The store keeps objects without `metadata.resourceVersion` (the store's
/// modification revision is the version); serving sets it.
public enum ObjectCodec {
    public static func decodeStored(_ bytes: [UInt8], key: String) throws(KumoError) -> JSONValue {
        do {
            return try JSONValue(parsing: bytes)
        } catch {
            throw KumoError(.internal, "failed to read stored object \(key): \(error.message)", cause: error)
        }
    }

    public static func served(_ stored: JSONValue, revision: Int64) -> JSONValue {
        var object = stored
        if var meta = object["metadata"]?.objectValue {
            meta["resourceVersion"] = .string(String(revision))
            object["metadata"] = .object(meta)
        }
        return object
    }

    /// Removes what only the server sets, before validation of client input.
    public static func strippingServerFields(_ object: JSONValue, keepResourceVersion: Bool = false) -> JSONValue {
        var object = object
        if var meta = object["metadata"]?.objectValue {
            meta["uid"] = nil
            meta["createdAt"] = nil
            meta["managedFields"] = nil
            meta["deletionTimestamp"] = nil
            if !keepResourceVersion { meta["resourceVersion"] = nil }
            object["metadata"] = .object(meta)
        }
        return object
    }

    /// The `metadata.resourceVersion` a client sent as a precondition, if any.
    public static func resourceVersionPrecondition(_ object: JSONValue) throws(KumoError) -> Int64? {
        guard let rv = object["metadata"]?["resourceVersion"], !rv.isNull else { return nil }
        if let s = rv.stringValue, let n = Int64(s) { return n }
        if let d = rv.numberValue, let n = Int64(exactly: d) { return n }
        throw KumoError(
            .invalid, "metadata.resourceVersion must be a revision number as a string", field: "metadata.resourceVersion")
    }

    public static func withoutManagedFields(_ object: JSONValue) -> JSONValue {
        var object = object
        if var meta = object["metadata"]?.objectValue {
            meta["managedFields"] = nil
            meta["resourceVersion"] = nil
            object["metadata"] = .object(meta)
        }
        return object
    }

    /// The current time as RFC 3339 UTC with milliseconds (`2026-11-26T16:12:46.391Z`).
    public static func now() -> String { Timestamp.now().rfc3339 }
}
