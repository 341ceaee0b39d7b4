import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Online backups of the store.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the store to FILE while the server keeps serving.",
            discussion: """
                Secret values in a backup are sealed with the server's secrets key (<data-dir>/secrets.key), which is \
                not in the store. Keep a copy of that file with the backup, or take the backup with \
                --include-secrets-key --passphrase-file F: the key then travels inside the backup, sealed under the \
                passphrase (at least 12 characters).
                Restore with: kumo server --restore FILE --data-dir NEW_DIR [--secrets-key KEYFILE | --backup-passphrase-file F]
                """)
        @OptionGroup var client: ClientOptions
        @Argument(help: "Where to write the backup.") var file: String
        @Flag(help: "Put the secrets key into the backup, sealed under the passphrase of --passphrase-file.")
        var includeSecretsKey = false
        @Option(help: "A file whose first line is the passphrase that seals the secrets key (with --include-secrets-key).")
        var passphraseFile: String?

        func validate() throws {
            if includeSecretsKey != (passphraseFile != nil) {
                throw ValidationError("--include-secrets-key and --passphrase-file go together")
            }
        }

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let response: KumoClient.Response
                if let passphraseFile {
                    guard let passphrase = SecureFile.readSecret(passphraseFile) else {
                        throw KumoError(.notFound, "cannot read the passphrase file \(passphraseFile)", field: "passphrase-file")
                    }
                    let body: JSONValue = ["includeSecretsKey": true, "passphrase": .string(passphrase)]
                    response = try await api.send(.POST, "/api/v1/backup", body: body.serialized(), maxResponseBytes: 64 << 30)
                } else {
                    response = try await api.send(.GET, "/api/v1/backup", maxResponseBytes: 64 << 30)
                }
                try SecureFile.write(Data(response.body), to: file)
                printOut("backup written to \(file) (\(response.body.count) bytes)")
                if includeSecretsKey {
                    printOut("the secrets key is in it, sealed under your passphrase: restore with kumo server --restore \(file) --backup-passphrase-file FILE")
                } else {
                    printOut("note: secret values in it are sealed; keep a copy of the server's <data-dir>/secrets.key with it (restore with --secrets-key), or take the backup with --include-secrets-key")
                }
            }
        }
    }
}
