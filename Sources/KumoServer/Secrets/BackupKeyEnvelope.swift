import Crypto
import CryptoExtras
import Foundation
import KumoModel

/// The secrets key file sealed under a passphrase, for a backup that carries its own key
/// (`kumo backup create --include-secrets-key`): PBKDF2-HMAC-SHA256 (600,000 rounds, OWASP's figure for it, 16-byte
/// random salt) derives an AES-256-GCM key that seals the key file's bytes. The envelope is JSON
/// `{"format", "kdf", "rounds", "salt", "sealed"}` (base64), so the backup alone, without the passphrase, reveals no
/// secret value.
public enum BackupKeyEnvelope {
    public static let format = "kumo-secrets-key/v1"
    static let rounds = 600_000
    /// A passphrase shorter than this is refused: the envelope travels with the backup.
    public static let minimumPassphraseLength = 12

    public static func seal(_ keyFile: [UInt8], passphrase: String) throws(KumoError) -> JSONValue {
        guard passphrase.count >= minimumPassphraseLength else {
            throw KumoError(
                .invalid, "the backup passphrase must be at least \(minimumPassphraseLength) characters", field: "passphrase")
        }
        var salt = [UInt8](repeating: 0, count: 16)
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255) }
        do {
            let key = try derive(passphrase, salt: salt, rounds: rounds)
            let box = try AES.GCM.seal(keyFile, using: key, authenticating: Array(format.utf8))
            guard let combined = box.combined else { throw KumoError(.internal, "failed to seal the secrets key: no combined form") }
            return .object([
                "format": .string(format), "kdf": "pbkdf2-sha256", "rounds": .number(Double(rounds)),
                "salt": .string(Data(salt).base64EncodedString()), "sealed": .string(combined.base64EncodedString()),
            ])
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to seal the secrets key: \(error)", cause: error)
        }
    }

    /// The key file's bytes; a wrong passphrase (or a damaged envelope) is a clear error, never a wrong key.
    public static func open(_ envelope: JSONValue, passphrase: String) throws(KumoError) -> [UInt8] {
        guard envelope["format"]?.stringValue == format, envelope["kdf"]?.stringValue == "pbkdf2-sha256",
            let rounds = envelope["rounds"]?.intValue, (100_000...10_000_000).contains(rounds),
            let salt = envelope["salt"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
            let sealed = envelope["sealed"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else {
            throw KumoError(.invalid, "the backup's secrets key envelope is not a \(format) envelope", field: "backup")
        }
        let key: SymmetricKey
        do {
            key = try derive(passphrase, salt: Array(salt), rounds: rounds)
        } catch {
            throw KumoError(.internal, "failed to derive the backup key: \(error)", cause: error)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(format.utf8)))
        } catch {
            throw KumoError(
                .invalid, "wrong backup passphrase (or a damaged backup): the secrets key in the backup does not open",
                field: "backup-passphrase-file", cause: error)
        }
    }

    private static func derive(_ passphrase: String, salt: [UInt8], rounds: Int) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(passphrase.utf8), salt: salt, using: .sha256, outputByteCount: 32, rounds: rounds)
    }
}
