import Foundation
import Hummingbird
import KumoModel
import KumoStore
import NIOCore

/// `POST /api/v1/backup`'s body: `{"includeSecretsKey": true, "passphrase": "…"}`.
struct BackupRequest {
    var includeSecretsKey: Bool
    var passphrase: String?

    static func parse(_ body: JSONValue) throws(KumoError) -> BackupRequest {
        guard let object = body.objectValue else {
            throw KumoError(.invalid, "expected {\"includeSecretsKey\": true, \"passphrase\": \"…\"}")
        }
        for key in object.keys where !["includeSecretsKey", "passphrase"].contains(key) {
            throw KumoError(.invalid, "unknown field \(key): expected includeSecretsKey and passphrase", field: key)
        }
        let include: Bool
        switch object["includeSecretsKey"] {
        case nil, .null?: include = false
        case .bool(let b)?: include = b
        default: throw KumoError(.invalid, "includeSecretsKey must be true or false", field: "includeSecretsKey")
        }
        var passphrase: String? = nil
        switch object["passphrase"] {
        case nil, .null?: break
        case .string(let s)?: passphrase = s
        default: throw KumoError(.invalid, "passphrase must be a string", field: "passphrase")
        }
        if include, passphrase == nil {
            throw KumoError(.invalid, "includeSecretsKey needs a passphrase: the key is sealed under it", field: "passphrase")
        }
        return BackupRequest(includeSecretsKey: include, passphrase: passphrase)
    }
}

extension APIHandlers {
    /// Where a backup taken with `includeSecretsKey` carries the sealed key file (`BackupKeyEnvelope`); a restore
    /// takes it out again (`KumoServer.restore`).
    static let backupKeyEnvelopeKey = KumoServer.backupKeyEnvelopeKey

    /// `GET /api/v1/backup`: an online, consistent copy of the store (SQLite online backup) taken while writes
    /// continue, streamed as the body. Restore with `kumo server --restore FILE --data-dir DIR`. `POST` with
    /// `includeSecretsKey` also puts the secrets key file into the copy, sealed under the passphrase.
    func backup(request: BackupRequest?) async throws(KumoError) -> Response {
        let path = core.config.dataDir + "/backup-\(UUID().uuidString).db.tmp"
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        do {
            try await core.store.backup(to: path)
        } catch {
            throw KumoError(.internal, "failed to take backup: \(error)", cause: error)
        }
        if let request, request.includeSecretsKey, let passphrase = request.passphrase {
            let envelope = try BackupKeyEnvelope.seal(try core.resources.secrets.fileBytes(), passphrase: passphrase)
            do {
                let copy = try SQLiteStore(path: path, logger: core.logger.with(label: "kumo.backup"))
                _ = try await copy.commit(Txn(operations: [.put(Self.backupKeyEnvelopeKey, envelope.serialized())]))
                try await copy.checkpoint()
                await copy.close()
            } catch {
                throw KumoError(.internal, "failed to add the secrets key to the backup: \(error)", cause: error)
            }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.internal, "failed to read backup file \(path)")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/vnd.sqlite3"
        headers[.contentDisposition] = "attachment; filename=\"kumo-backup.db\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
