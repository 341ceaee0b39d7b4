import Foundation
import KumoModel

/// Secret objects between their served form (`spec.data` values: base64 of the plaintext) and their stored
/// form (each value sealed by `SecretKeyring`), and history patches that say which keys changed without
/// carrying any value.
public enum SecretCodec {
    /// What history shows in place of a secret value.
    public static let redactedMarker = "<redacted>"

    /// The authenticated context of one value: a sealed value opens only in the secret and key it was sealed for.
    static func context(_ object: JSONValue, key: String) -> String {
        let meta = object["metadata"]
        return "secret \(meta?["project"]?.stringValue ?? "_")/\(meta?["name"]?.stringValue ?? "")/\(key)"
    }

    static func isSecret(_ object: JSONValue) -> Bool { object["kind"]?.stringValue == Kind.secret.rawValue }

    /// Stored form of a (validated) served secret, every value under the lease's key. A value whose plaintext
    /// equals the one in `previous` (the stored form it replaces) and is sealed under that same key keeps its
    /// sealed form, so an update that changes one key re-seals only that key and the stored bytes do not churn.
    static func seal(
        _ object: JSONValue, previous: JSONValue?, keyring: SecretKeyring, lease: SecretKeyring.Lease? = nil
    ) throws(KumoError) -> JSONValue {
        guard isSecret(object), let data = object["spec"]?["data"]?.objectValue else { return object }
        let old = previous?["spec"]?["data"]?.objectValue ?? [:]
        var sealed: [String: JSONValue] = [:]
        for (key, value) in data {
            guard let b64 = value.stringValue, let plain = Data(base64Encoded: b64) else {
                throw KumoError(.invalid, "spec.data.\(key) must be base64", field: "spec.data.\(key)")
            }
            let ctx = context(object, key: key)
            let keyID = lease?.keyID ?? keyring.activeKeyID
            if let previousSealed = old[key]?.stringValue, SecretKeyring.keyID(of: previousSealed) == keyID,
                let previousPlain = try? keyring.open(previousSealed, context: ctx), previousPlain == Array(plain)
            {
                sealed[key] = .string(previousSealed)
            } else {
                sealed[key] = .string(try keyring.seal(Array(plain), context: ctx, lease: lease))
            }
        }
        return replacingData(object, with: sealed)
    }

    /// Served form of a stored secret (values base64 of the plaintext). A value stored before encryption at
    /// rest (not sealed) is served as it is.
    static func open(_ object: JSONValue, keyring: SecretKeyring) throws(KumoError) -> JSONValue {
        guard isSecret(object), let data = object["spec"]?["data"]?.objectValue else { return object }
        var opened: [String: JSONValue] = [:]
        for (key, value) in data {
            guard let s = value.stringValue, SecretKeyring.isSealed(s) else {
                opened[key] = value
                continue
            }
            let plain = try keyring.open(s, context: context(object, key: key))
            opened[key] = .string(Data(plain).base64EncodedString())
        }
        return replacingData(object, with: opened)
    }

    /// `open` for reads that must not fail as a whole (lists, watch streams): a value that cannot be opened is
    /// served empty, and the annotation `kumo.dev/secret-error` says why (the error never holds a value).
    static func openLeniently(_ object: JSONValue, keyring: SecretKeyring) -> JSONValue {
        do {
            return try open(object, keyring: keyring)
        } catch {
            guard let data = object["spec"]?["data"]?.objectValue else { return object }
            var copy = replacingData(object, with: data.mapValues { _ in .string("") })
            if var meta = copy["metadata"]?.objectValue {
                var annotations = meta["annotations"]?.objectValue ?? [:]
                annotations["kumo.dev/secret-error"] = .string(error.message)
                meta["annotations"] = .object(annotations)
                copy["metadata"] = .object(meta)
            }
            return copy
        }
    }

    /// Whether every value of a stored secret is sealed under `keyID`.
    static func isSealed(_ object: JSONValue, under keyID: String) -> Bool {
        for (_, value) in object["spec"]?["data"]?.objectValue ?? [:] {
            guard let s = value.stringValue, SecretKeyring.keyID(of: s) == keyID else { return false }
        }
        return true
    }

    /// Whether a stored secret has a value in clear (stored before encryption at rest).
    static func hasPlaintextValues(_ object: JSONValue) -> Bool {
        (object["spec"]?["data"]?.objectValue ?? [:]).values.contains { !SecretKeyring.isSealed($0.stringValue ?? "") }
    }

    /// A history patch of a secret with every value under `spec.data` replaced by `redactedMarker`: the record
    /// says which keys were added, changed or removed, and nothing about their values.
    public static func redacted(_ patch: [JSONPatchOperation]) -> [JSONPatchOperation] {
        patch.map { op in
            guard let value = op.value else { return op }
            var copy = op
            switch op.path {
            case "":
                copy.value = redactingData(in: value, at: ["spec", "data"])
            case "/spec":
                copy.value = redactingData(in: value, at: ["data"])
            case "/spec/data":
                copy.value = redactingData(in: value, at: [])
            default:
                if op.path.hasPrefix("/spec/data/") { copy.value = .string(redactedMarker) }
            }
            return copy
        }
    }

    /// `value` with the object found at `path` (a data map) having each value replaced by the marker.
    private static func redactingData(in value: JSONValue, at path: [String]) -> JSONValue {
        guard let first = path.first else {
            guard let data = value.objectValue else { return .string(redactedMarker) }
            return .object(data.mapValues { _ in .string(redactedMarker) })
        }
        guard var o = value.objectValue, let inner = o[first] else { return value }
        o[first] = redactingData(in: inner, at: Array(path.dropFirst()))
        return .object(o)
    }

    private static func replacingData(_ object: JSONValue, with data: [String: JSONValue]) -> JSONValue {
        var copy = object
        var spec = copy["spec"]?.objectValue ?? [:]
        spec["data"] = .object(data)
        copy["spec"] = .object(spec)
        return copy
    }
}
