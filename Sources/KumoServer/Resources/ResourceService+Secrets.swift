import Foundation
import KumoAPI
import KumoModel
import KumoStore

/// Secrets at rest: the store holds sealed values only (`SecretCodec`), reads open them, history records say
/// which keys changed but never carry a value, and a key rotation re-seals every secret.
extension ResourceService {
    /// The served form of a stored object (Secret values opened; other kinds as they are).
    func opened(_ stored: JSONValue) throws(KumoError) -> JSONValue {
        try SecretCodec.open(stored, keyring: secrets)
    }

    /// `opened` for reads that must not fail as a whole (lists, watches, the response of a delete).
    func openedLeniently(_ stored: JSONValue) -> JSONValue {
        SecretCodec.openLeniently(stored, keyring: secrets)
    }

    /// The form written to the store: Secret values sealed under the lease's key (unchanged values keep
    /// `previous`'s sealed form when it is under that key).
    func sealedForStore(_ object: JSONValue, previous: JSONValue?, lease: SecretKeyring.Lease?) throws(KumoError)
        -> JSONValue
    {
        try SecretCodec.seal(object, previous: previous, keyring: secrets, lease: lease)
    }

    /// A lease on the active secret key for one write attempt of a Secret (nil for other kinds); release it
    /// after the commit.
    func secretLease(_ ref: ObjectRef) -> SecretKeyring.Lease? {
        ref.kind == .secret ? secrets.lease() : nil
    }

    func releaseSecretLease(_ lease: SecretKeyring.Lease?) {
        if let lease { secrets.release(lease) }
    }

    /// The history patch of a change; for a Secret, values under `spec.data` become `"<redacted>"`.
    func historyPatch(_ ref: ObjectRef, from old: JSONValue, to new: JSONValue) -> [JSONPatchOperation] {
        let patch = JSONPatch.diff(from: old, to: new)
        return ref.kind == .secret ? SecretCodec.redacted(patch) : patch
    }

    /// Rotates the secret encryption key: (1) a new key becomes active (and is written to the key file) while
    /// the old keys stay, so every stored value still opens; (2) every secret not yet sealed under the new key is
    /// re-sealed — compare-and-swap per secret, retried when a writer got there first, repeated until a pass
    /// finds nothing left (writes that raced the switch may have sealed under the old key); (3) the old keys are
    /// retired. Reads and writes go on throughout. A crash in between leaves both keys in the file; the next
    /// rotation finishes the job. One rotation at a time (409 otherwise).
    public func rotateSecretKey(options: WriteOptions) async throws(KumoError) -> JSONValue {
        guard secrets.claimRotation() else {
            throw KumoError(.conflict, "a secret key rotation is already running; wait for it to finish")
        }
        defer { secrets.releaseRotation() }
        let previous = secrets.keyIDs
        let newKey = try secrets.beginRotation()
        try await secrets.drainOldLeases()
        logger.notice("secret key rotation started", metadata: ["keyID": "\(newKey)"])
        var resealed = 0
        var total = 0
        for pass in 0..<Self.maxAttempts {
            let (seen, changed) = try await resealPass(options: options) { !SecretCodec.isSealed($0, under: newKey) }
            if pass == 0 { total = seen }
            resealed += changed
            if changed == 0 { break }
            if pass == Self.maxAttempts - 1 {
                throw KumoError(
                    .conflict, "secret key rotation did not settle: secrets keep changing; run it again (key \(newKey) stays active)")
            }
        }
        let retired = try secrets.retireInactiveKeys()
        logger.notice(
            "secret key rotation finished",
            metadata: ["keyID": "\(newKey)", "resealed": "\(resealed)", "retired": "\(retired.joined(separator: ","))"])
        return .object([
            "activeKeyID": .string(newKey), "previousKeyIDs": .array(previous.map { .string($0) }),
            "retiredKeyIDs": .array(retired.map { .string($0) }), "secrets": .number(Double(total)),
            "resealed": .number(Double(resealed)),
        ])
    }

    /// Seals the values of secrets stored before encryption at rest (still in clear), once at start-up, so an
    /// upgraded server does not keep them readable in the database. Returns how many secrets it sealed.
    public func sealPlaintextSecrets() async throws(KumoError) -> Int {
        let (_, changed) = try await resealPass(options: WriteOptions(manager: "secret-encryption")) {
            SecretCodec.hasPlaintextValues($0)
        }
        if changed > 0 { logger.notice("sealed secrets stored in clear", metadata: ["secrets": "\(changed)"]) }
        return changed
    }

    /// The ids of the keys that sealed the values in the store, with how many secrets use each.
    public func sealingKeyIDs() async throws(KumoError) -> [String: Int] {
        let prefix = StoreKeys.collectionPrefix(.secret, project: nil)
        var cursor: String? = nil
        var ids: [String: Int] = [:]
        while true {
            let page = try await kumo { try await store.list(prefix: prefix, startAfter: cursor, limit: 200) }
            for kv in page.items {
                cursor = kv.key
                let stored = try ObjectCodec.decodeStored(kv.value, key: kv.key)
                var mine = Set<String>()
                for value in (stored["spec"]?["data"]?.objectValue ?? [:]).values {
                    if let id = SecretKeyring.keyID(of: value.stringValue ?? "") { mine.insert(id) }
                }
                for id in mine { ids[id, default: 0] += 1 }
            }
            if !page.more { break }
        }
        return ids
    }

    /// Refuses to serve a store whose secrets are sealed under keys the keyring lacks (a restore without the
    /// backup's `secrets.key`): every such secret would be unreadable, and new writes would seal under a key the
    /// old ones never knew. The error says which keys and what to copy.
    public func checkSecretKeys() async throws(KumoError) {
        let needed = try await sealingKeyIDs()
        let have = Set(secrets.keyIDs)
        let missing = needed.filter { !have.contains($0.key) }
        guard !missing.isEmpty else { return }
        let count = missing.values.reduce(0, +)
        let path = secrets.path ?? "the in-memory keyring"
        throw KumoError(
            .invalid,
            "refusing to start: \(count) secret(s) in the store are sealed with key(s) \(missing.keys.sorted().joined(separator: ", ")), "
                + "which \(path) does not hold (it has \(have.sorted().joined(separator: ", "))). Copy secrets.key from the data "
                + "directory the store or backup came from to \(path), or restore with `kumo server --restore FILE "
                + "--secrets-key KEYFILE` (or `--backup-passphrase-file` for a backup taken with `--include-secrets-key`)",
            field: "secrets-key")
    }

    /// One pass over every secret: re-seals under the active key those `needsReseal` picks (a stored form).
    /// Returns (secrets seen, secrets re-sealed).
    private func resealPass(
        options: WriteOptions, needsReseal: (JSONValue) -> Bool
    ) async throws(KumoError) -> (Int, Int) {
        let prefix = StoreKeys.collectionPrefix(.secret, project: nil)
        var cursor: String? = nil
        var seen = 0
        var changed = 0
        while true {
            let page = try await kumo { try await store.list(prefix: prefix, startAfter: cursor, limit: 200) }
            for kv in page.items {
                cursor = kv.key
                seen += 1
                let stored = try ObjectCodec.decodeStored(kv.value, key: kv.key)
                if !needsReseal(stored) { continue }
                if try await reseal(key: kv.key, options: options, needsReseal: needsReseal) { changed += 1 }
            }
            if !page.more { break }
        }
        return (seen, changed)
    }

    /// Re-seals one secret under the active key (its values unchanged), with a history record that says so.
    /// False when it was deleted or already re-sealed meanwhile.
    private func reseal(
        key: String, options: WriteOptions, needsReseal: (JSONValue) -> Bool
    ) async throws(KumoError) -> Bool {
        for _ in 0..<Self.maxAttempts {
            guard let kv = try await kumo({ try await store.get(key) }) else { return false }
            let stored = try ObjectCodec.decodeStored(kv.value, key: kv.key)
            if !needsReseal(stored) { return false }
            let lease = secrets.lease()
            defer { secrets.release(lease) }
            let resealed = try sealedForStore(try opened(stored), previous: nil, lease: lease)
            guard let name = stored["metadata"]?["name"]?.stringValue else { return false }
            let ref = ObjectRef(.secret, project: stored["metadata"]?["project"]?.stringValue, name: name)
            let entry = HistoryEntry(time: ObjectCodec.now(), manager: options.manager, operation: "reencrypt", patch: [])
            let txn = Txn(
                compares: [.modRevision(key, equals: kv.modRevision)],
                operations: [.put(key, resealed.serialized()), .put(HistoryStore.key(for: ref), HistoryStore.encode(entry))])
            do {
                _ = try await store.commit(txn)
                return true
            } catch let e as KumoError where e.code == .conflict {
                continue
            } catch {
                throw storeError(error, "re-encrypt \(ref)")
            }
        }
        throw KumoError(.conflict, "failed to re-encrypt \(key): it keeps changing; run the rotation again")
    }
}
