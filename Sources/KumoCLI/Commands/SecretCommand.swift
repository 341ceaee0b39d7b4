import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `kumo secret …`: make secrets from literals and files, look at their keys (values only with `--reveal`), and
/// rotate the server's key that seals them at rest. Values never go through the command line's output unless
/// asked for.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Manage secrets: create, show keys (values with --reveal), rotate the encryption key.",
        subcommands: [Create.self, Get.self, RotateKey.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a secret from literals and files.",
            discussion: """
                Examples: kumo secret create db -p shop --from-literal user=admin --from-file password=./pw.txt
                          kumo secret create web-tls -p shop --type tls --from-file tls.crt=c.pem --from-file tls.key=k.pem
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var projectOptions: ProjectOptions
        @Argument(help: "Secret name.") var name: String
        @Option(name: .customLong("from-literal"), help: "KEY=VALUE (repeatable).") var literals: [String] = []
        @Option(name: .customLong("from-file"), help: "KEY=PATH: the file's bytes (repeatable).") var files: [String] = []
        @Option(help: "opaque (default) or tls (needs tls.crt and tls.key).") var type: String = "opaque"

        func validate() throws {
            if literals.isEmpty && files.isEmpty { throw ValidationError("pass --from-literal KEY=VALUE or --from-file KEY=PATH") }
            guard SecretSpec.types.contains(type) else { throw ValidationError("--type must be opaque or tls") }
        }

        func run() async throws {
            try await runReporting {
                let config = try client.config()
                let project = try projectOptions.resolve(.secret, config: config)
                var data: [String: JSONValue] = [:]
                func add(_ key: String, _ bytes: Data, flag: String) throws(KumoError) {
                    guard data[key] == nil else {
                        throw KumoError(.invalid, "key \"\(key)\" is given twice", field: flag)
                    }
                    data[key] = .string(bytes.base64EncodedString())
                }
                for literal in literals {
                    let (key, value) = try Self.split(literal, flag: "from-literal")
                    try add(key, Data(value.utf8), flag: "from-literal")
                }
                for file in files {
                    let (key, path) = try Self.split(file, flag: "from-file")
                    guard let bytes = FileManager.default.contents(atPath: path) else {
                        throw KumoError(.notFound, "cannot read \(path) (for key \(key))", field: "from-file")
                    }
                    try add(key, bytes, flag: "from-file")
                }
                let object: JSONValue = [
                    "apiVersion": .string(Kind.apiVersion), "kind": .string(Kind.secret.rawValue),
                    "metadata": ["name": .string(name)],
                    "spec": ["type": .string(type), "data": .object(data)],
                ]
                let api = KumoClient(config: config)
                _ = try await api.send(.POST, APIPaths.collection(.secret, project: project), body: object.serialized())
                printOut("secret/\(name) created (\(data.count) key\(data.count == 1 ? "" : "s"))")
            }
        }

        /// `KEY=REST` (the value may itself contain `=`); the error names the key, never the value.
        static func split(_ s: String, flag: String) throws(KumoError) -> (String, String) {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                throw KumoError(.invalid, "--\(flag) takes KEY=\(flag == "from-file" ? "PATH" : "VALUE")", field: flag)
            }
            return (String(s[..<eq]), String(s[s.index(after: eq)...]))
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a secret's keys and sizes; --reveal prints the values (edit tokens and admin).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var projectOptions: ProjectOptions
        @Argument(help: ArgumentHelp("secret/NAME or just NAME.", valueName: "secret")) var target: String
        @Flag(help: "Print the values (decoded; binary values stay base64).") var reveal = false

        func run() async throws {
            try await runReporting {
                let name = try ObjectArgument.name([target], of: .secret, command: "secret get")
                let config = try client.config()
                let project = try projectOptions.resolve(.secret, config: config)
                let api = KumoClient(config: config)
                let object = try await api.send(.GET, APIPaths.object(.secret, project: project, name: name)).json()
                let data = object["spec"]?["data"]?.objectValue ?? [:]
                if reveal, object["metadata"]?["annotations"]?["kumo.dev/redacted"] != nil {
                    throw KumoError(.forbidden, "this token may not see secret values (it has role view): --reveal needs edit or admin")
                }
                var out = "Name:  \(name)\nType:  \(object["spec"]?["type"]?.stringValue ?? "opaque")\nData:\n"
                for key in data.keys.sorted() {
                    let b64 = data[key]?.stringValue ?? ""
                    let bytes = Data(base64Encoded: b64) ?? Data()
                    if reveal {
                        let text = String(data: bytes, encoding: .utf8)
                        out += "  \(key): \(text ?? "base64:" + b64)\n"
                    } else {
                        out += "  \(key): \(bytes.count) bytes\n"
                    }
                }
                if data.isEmpty { out += "  <none>\n" }
                printOut(out)
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Make a new key that seals secrets at rest, re-encrypt every secret, retire the old key (admin).")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let result = try await api.send(.POST, APIPaths.secretKeyRotation).json()
                let retired = (result["retiredKeyIDs"]?.arrayValue ?? []).compactMap(\.stringValue)
                printOut(
                    "secret key rotated: active key \(result["activeKeyID"]?.stringValue ?? "?"); "
                        + "\(Int(result["resealed"]?.numberValue ?? 0)) of \(Int(result["secrets"]?.numberValue ?? 0)) "
                        + "secrets re-encrypted; retired \(retired.isEmpty ? "none" : retired.joined(separator: ", "))")
            }
        }
    }
}
