import Crypto
import Foundation
import KumoAPI
import KumoModel
import Logging
import Synchronization

/// The key-encryption keys that seal Secret values at rest (AES-256-GCM).
///
/// Kept in `<data-dir>/secrets.key` (0600, made at first start), never in the store: a copy of the database (or
/// a backup) alone reveals no value. The file holds every key still needed to read what is stored and names the
/// active one, which seals new values. Each sealed value names the id of its key, so during a rotation values
/// under the old and the new key are both readable; the old key leaves the file only after every secret was
/// re-sealed (`ResourceService.rotateSecretKey`).
public final class SecretKeyring: Sendable {
    struct State: Sendable {
        var active: String
        var keys: [String: SymmetricKey]
        /// Writes between sealing and commit, by the key they seal under (see `Lease`).
        var leases: [String: Int] = [:]
    }

    /// One write's hold on the key it seals under, from sealing until its commit is done: a rotation does not
    /// start re-sealing while writes that picked an older key are still in flight, so none of them can land
    /// after the rotation looked and leave a value under a key about to be retired.
    public struct Lease: Sendable {
        public let keyID: String
    }

    /// Where the keys live; nil for an in-memory keyring (tests, tools that build a ResourceService by hand).
    public let path: String?
    let logger: Logger
    private let state: Mutex<State>
    /// Set while a rotation runs: one at a time.
    private let rotating = Mutex(false)

    /// What marks a sealed value: `kumo:aesgcm:<key id>:<base64(nonce | ciphertext | tag)>`.
    static let prefix = "kumo:aesgcm:"

    /// Whether this process made the key file (it was missing at start): a store that already holds sealed
    /// values then cannot open them (see `ResourceService.checkSecretKeys`).
    public let createdKeyFile: Bool

    /// Loads the key file at `path`, creating it (0600) with one fresh key if missing.
    public init(path: String, logger: Logger) throws(KumoError) {
        self.path = path
        self.logger = logger
        if let data = FileManager.default.contents(atPath: path) {
            state = Mutex(try Self.decode(data, path: path))
            createdKeyFile = false
        } else {
            let initial = Self.fresh()
            try Self.write(initial, to: path)
            logger.notice("created secret encryption key", metadata: ["path": "\(path)", "keyID": "\(initial.active)"])
            state = Mutex(initial)
            createdKeyFile = true
        }
    }

    /// The key ids a key file holds, without loading it as a keyring (checks before a restore).
    public static func keyIDs(inFile path: String) throws(KumoError) -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.notFound, "secret key file \(path) not found", field: "secrets-key")
        }
        return Set(try decode(data, path: path).keys.keys)
    }

    /// The key file's bytes, to seal into a backup (`KeyEnvelope`).
    public func fileBytes() throws(KumoError) -> [UInt8] {
        guard let path, let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.internal, "the secret keyring has no key file to export")
        }
        return Array(data)
    }

    /// Checks that `bytes` are a key file (what a backup's envelope opened to).
    public static func validateFile(_ bytes: [UInt8], source: String) throws(KumoError) -> Set<String> {
        Set(try decode(Data(bytes), path: source).keys.keys)
    }

    /// A keyring that lives in memory only (its values cannot be read after a restart).
    public init(inMemory logger: Logger) {
        self.path = nil
        self.logger = logger
        self.createdKeyFile = false
        state = Mutex(Self.fresh())
    }

    /// The id of the key that seals new values.
    public var activeKeyID: String { state.withLock { $0.active } }

    /// Ids of every key the keyring can open values with (sorted).
    public var keyIDs: [String] { state.withLock { $0.keys.keys.sorted() } }

    // MARK: Sealing

    /// Whether a stored string is a sealed value (anything else is a value from before encryption at rest).
    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(prefix) }

    /// The id of the key that sealed `value`.
    public static func keyID(of value: String) -> String? {
        guard isSealed(value) else { return nil }
        let rest = value.dropFirst(prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        return String(rest[..<colon])
    }

    /// Takes a lease on the active key; `release` it once the write is committed or abandoned.
    public func lease() -> Lease {
        state.withLock { s in
            s.leases[s.active, default: 0] += 1
            return Lease(keyID: s.active)
        }
    }

    public func release(_ lease: Lease) {
        state.withLock { s in
            let n = (s.leases[lease.keyID] ?? 1) - 1
            s.leases[lease.keyID] = n > 0 ? n : nil
        }
    }

    /// Waits until no write holds a lease on a key other than the active one.
    func drainOldLeases(timeout: Duration = .seconds(30)) async throws(KumoError) {
        let deadline = ContinuousClock.now + timeout
        while state.withLock({ s in s.leases.keys.contains { $0 != s.active } }) {
            guard ContinuousClock.now < deadline else {
                throw KumoError(.unavailable, "secret key rotation: writes under the old key did not finish in time; retry")
            }
            do { try await Task.sleep(for: .milliseconds(2)) } catch {
                throw KumoError(.unavailable, "secret key rotation cancelled", cause: error)
            }
        }
    }

    /// Seals `plaintext` under the lease's key (the active key without one). `context` (the secret and key it
    /// belongs to) is authenticated, so a sealed value copied into another secret or key does not open.
    public func seal(_ plaintext: [UInt8], context: String, lease: Lease? = nil) throws(KumoError) -> String {
        let (id, key) = state.withLock { s in
            let id = lease?.keyID ?? s.active
            return (id, s.keys[id])
        }
        guard let key else { throw KumoError(.internal, "secret keyring has no active key \(id)") }
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
            guard let combined = box.combined else {
                throw KumoError(.internal, "failed to seal a secret value: no combined form")
            }
            return Self.prefix + id + ":" + combined.base64EncodedString()
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to seal a secret value: \(error)", cause: error)
        }
    }

    /// Opens a sealed value. The error names the key id and context, never any part of the value.
    public func open(_ sealed: String, context: String) throws(KumoError) -> [UInt8] {
        guard let id = Self.keyID(of: sealed) else {
            throw KumoError(.internal, "stored value of \(context) is not a sealed value")
        }
        guard let key = state.withLock({ $0.keys[id] }) else {
            throw KumoError(
                .internal, "cannot open \(context): key \(id) is not in the secret keyring (\(path ?? "in memory"))")
        }
        let body = sealed.dropFirst(Self.prefix.count + id.count + 1)
        guard let combined = Data(base64Encoded: String(body)) else {
            throw KumoError(.internal, "cannot open \(context): sealed value is not base64")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw KumoError(.internal, "cannot open \(context) with key \(id): authentication failed", cause: error)
        }
    }

    // MARK: Rotation

    /// Whether a rotation is running.
    public var isRotating: Bool { rotating.withLock { $0 } }

    /// Claims the right to rotate; false when another rotation runs.
    func claimRotation() -> Bool {
        rotating.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func releaseRotation() { rotating.withLock { $0 = false } }

    /// For `/debug/state`: ids only, never key material.
    public func snapshot() -> JSONValue {
        .object([
            "keyFile": path.map { JSONValue.string($0) } ?? JSONValue.null, "activeKeyID": .string(activeKeyID),
            "keyIDs": .array(keyIDs.map { .string($0) }), "rotating": .bool(isRotating),
        ])
    }

    /// Step one of a rotation: a new key becomes active; the old ones stay until `retire(except:)`.
    /// Returns the new key's id. The file is written before the key is used, so a crash never loses a key that
    /// sealed something.
    public func beginRotation() throws(KumoError) -> String {
        try state.withLock { s throws(KumoError) -> String in
            var next = s
            let id = Self.newKeyID(avoiding: Set(s.keys.keys))
            next.keys[id] = SymmetricKey(size: .bits256)
            next.active = id
            if let path { try Self.write(next, to: path) }
            s = next
            return id
        }
    }

    /// Step three: forgets every key but the active one (everything was re-sealed under it).
    /// Returns the ids retired.
    public func retireInactiveKeys() throws(KumoError) -> [String] {
        try state.withLock { s throws(KumoError) -> [String] in
            var next = s
            next.keys = next.keys.filter { $0.key == s.active }
            let retired = s.keys.keys.filter { $0 != s.active }.sorted()
            if let path { try Self.write(next, to: path) }
            s = next
            return retired
        }
    }

    // MARK: The file

    private static func fresh() -> State {
        let id = newKeyID(avoiding: [])
        return State(active: id, keys: [id: SymmetricKey(size: .bits256)])
    }

    private static func newKeyID(avoiding: Set<String>) -> String {
        while true {
            let stamp = String(Int64(Date().timeIntervalSince1970), radix: 36)
            let id = "k" + stamp + String(UInt16.random(in: 0...UInt16.max), radix: 36)
            if !avoiding.contains(id) { return id }
        }
    }

    /// `{"active": ID, "keys": {ID: base64(32 bytes)}}`.
    private static func write(_ s: State, to path: String) throws(KumoError) {
        var keys: [String: JSONValue] = [:]
        for (id, key) in s.keys {
            keys[id] = .string(key.withUnsafeBytes { Data($0).base64EncodedString() })
        }
        let json = JSONValue.object(["active": .string(s.active), "keys": .object(keys)])
        var bytes = json.serialized()
        bytes.append(UInt8(ascii: "\n"))
        try SecureFile.write(Data(bytes), to: path)
    }

    private static func decode(_ data: Data, path: String) throws(KumoError) -> State {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: Array(data))
        } catch {
            throw KumoError(.invalid, "secret key file \(path) is not valid JSON", field: "secrets.key")
        }
        guard let active = json["active"]?.stringValue, let entries = json["keys"]?.objectValue else {
            throw KumoError(.invalid, "secret key file \(path) lacks \"active\" or \"keys\"", field: "secrets.key")
        }
        var keys: [String: SymmetricKey] = [:]
        for (id, value) in entries {
            guard let b64 = value.stringValue, let raw = Data(base64Encoded: b64), raw.count == 32 else {
                throw KumoError(.invalid, "secret key file \(path): key \(id) is not 32 bytes of base64", field: "secrets.key")
            }
            keys[id] = SymmetricKey(data: raw)
        }
        guard keys[active] != nil else {
            throw KumoError(.invalid, "secret key file \(path): active key \(active) is missing", field: "secrets.key")
        }
        return State(active: active, keys: keys)
    }
}
