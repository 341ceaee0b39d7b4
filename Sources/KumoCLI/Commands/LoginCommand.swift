import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Save the server URL and a token in the client configuration (0600).",
        discussion: "Checks both against the server first. Example: kumo login --server http://127.0.0.1:7480 --token-file /var/lib/kumo/admin.token")

    @Option(help: "Server URL.")
    var server: String

    @Option(help: "Token (prefer --token-file: command lines are visible to other users).")
    var token: String?

    @Option(help: "File holding the token.")
    var tokenFile: String?

    @Option(name: [.short, .customLong("project")], help: "Default project for project-scoped commands.")
    var project: String?

    @Option(name: .customLong("config"), help: "Where to write (default: $KUMO_CONFIG or ~/.kumo/config).")
    var configPath: String?

    func validate() throws {
        if (token == nil) == (tokenFile == nil) { throw ValidationError("pass exactly one of --token or --token-file") }
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw ValidationError("--server must be a URL like http://127.0.0.1:7480")
        }
    }

    func run() async throws {
        try await runReporting {
            var secret = token ?? ""
            if let tokenFile {
                guard let data = FileManager.default.contents(atPath: tokenFile) else {
                    throw KumoError(.notFound, "cannot read token file \(tokenFile)", field: "token-file")
                }
                secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let config = ClientConfig(server: server, token: secret, project: project)
            let client = KumoClient(config: config)
            // /version needs a valid token: this checks URL and token at once.
            let version = try await client.send(.GET, "/version").decode(VersionInfo.self)
            let path = configPath ?? ClientConfig.defaultPath
            try config.save(to: path)
            printOut("logged in to \(server) (kumo \(version.version)); configuration written to \(path)")
        }
    }
}
