import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Save the server URL, a token and the cluster CA in the client configuration (0600).",
        discussion: """
            Checks all against the server first. The server's CA is taken from --ca FILE (the server's \
            <data-dir>/ca.crt), or fetched on first contact: its fingerprint is shown (and, on a terminal, must be \
            confirmed) and then pinned — a later server with another CA is refused, never silently accepted.
            Example: kumo login --server https://127.0.0.1:7480 --token-file /var/lib/kumo/admin.token --ca /var/lib/kumo/ca.crt
            """)

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

    @Option(help: "The cluster CA to trust (PEM; the server's <data-dir>/ca.crt). Without it the CA is fetched and its fingerprint shown.")
    var ca: String?

    @Option(help: "Trust the fetched CA only if its SHA-256 fingerprint is this (hex, colons allowed).")
    var caFingerprint: String?

    @Flag(name: .shortAndLong, help: "Do not ask to confirm the fetched CA's fingerprint on a terminal.")
    var yes = false

    func validate() throws {
        if (token == nil) == (tokenFile == nil) { throw ValidationError("pass exactly one of --token or --token-file") }
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw ValidationError("--server must be a URL like https://127.0.0.1:7480")
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
            let path = configPath ?? ClientConfig.defaultPath
            let trusted = try await trustedCA(previous: try? ClientConfig.load(from: path))
            let config = ClientConfig(server: server, token: secret, project: project, ca: trusted)
            let client = KumoClient(config: config)
            // /version needs a valid token: this checks URL, CA and token at once.
            let version = try await client.send(.GET, "/version").decode(VersionInfo.self)
            try config.save(to: path)
            printOut("logged in to \(server) (kumo \(version.version)); configuration written to \(path)")
        }
    }

    /// The CA to pin: --ca, or the one the server presents (shown, confirmed on a terminal, checked against the
    /// one pinned before for this server).
    func trustedCA(previous: ClientConfig?) async throws(KumoError) -> String? {
        guard server.hasPrefix("https://") else { return nil }
        if let ca {
            guard let pem = try? String(contentsOfFile: ca, encoding: .utf8) else {
                throw KumoError(.notFound, "cannot read the CA file \(ca)", field: "ca")
            }
            let fingerprint = try ClusterTrust.fingerprint(pem: pem)
            printErr("trusting the CA in \(ca): \(ClusterTrust.display(fingerprint))")
            return pem
        }
        let fetched = try await ClusterTrust.fetchCA(server: server)
        let fingerprint = try ClusterTrust.fingerprint(pem: fetched)
        if let previous, previous.server == server, let old = previous.ca, let oldPrint = try? ClusterTrust.fingerprint(pem: old),
            oldPrint != fingerprint
        {
            throw KumoError(
                .conflict,
                "the server at \(server) now presents the CA \(ClusterTrust.display(fingerprint)), but this configuration "
                    + "trusts \(ClusterTrust.display(oldPrint)) for it: refusing (a different server, or a man in the "
                    + "middle). If its CA really changed, log in with --ca FILE (the server's <data-dir>/ca.crt).",
                field: "ca")
        }
        if let expected = caFingerprint {
            let want = expected.lowercased().replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "sha256", with: "")
            guard want == fingerprint else {
                throw KumoError(
                    .conflict, "the server's CA is \(ClusterTrust.display(fingerprint)), not the expected \(expected): refusing",
                    field: "ca-fingerprint")
            }
            return fetched
        }
        printErr("the server's cluster CA fingerprint is \(ClusterTrust.display(fingerprint))")
        printErr("(compare it with `kumo server`'s log or `openssl x509 -noout -fingerprint -sha256 -in <data-dir>/ca.crt`)")
        if !yes, isatty(0) != 0 {
            printErr("trust this CA for \(server)? [y/N] ", newline: false)
            let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard answer == "y" || answer == "yes" else {
                throw KumoError(.conflict, "not logged in: the server's CA was not accepted", field: "ca")
            }
        }
        return fetched
    }
}
