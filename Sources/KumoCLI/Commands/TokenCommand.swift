import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage tokens (admin): project tokens, and join tokens for node agents.",
        subcommands: [Create.self, List.self, Revoke.self, Remove.self])

    /// `90s`, `30m`, `24h`, `7d` (a bare number is hours).
    static func parseTTL(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = text.last else { return nil }
        if let unit = units[last], let n = Int(text.dropLast()), n > 0 { return n * unit }
        if let n = Int(text), n > 0 { return n * 3600 }
        return nil
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a project token, or a join token for node agents; the secret is printed once.",
            discussion: """
                Examples: kumo token create --project shop --role edit --name ci
                          kumo token create --join --ttl 24h   (agents exchange it for their node token)
                A join token reads K10<sha256 of the cluster CA>::<secret>: an agent checks the server's CA against
                the hash before it sends the secret.
                """)
        @OptionGroup var client: ClientOptions
        @Option(help: "Project the token may use (project tokens).") var project: String?
        @Option(help: "view (read, no secret values) or edit (read and write).") var role: String?
        @Flag(help: "Make a join token instead: it lets node agents join and get their node token.") var join = false
        @Option(help: "Lifetime: 90s, 30m, 24h, 7d (join tokens: default 24h; project tokens: default none).") var ttl: String?
        @Option(help: ArgumentHelp("Join tokens: hours until it expires (use --ttl).", visibility: .hidden)) var ttlHours: Int?
        @Option(help: "Token name (a project token's identity becomes token/NAME).") var name: String?
        @Flag(help: "Print only the secret (for scripts).") var quiet = false

        func validate() throws {
            if let ttl, Self.ttlSeconds(ttl) == nil { throw ValidationError("--ttl must look like 90s, 30m, 24h or 7d") }
            if join {
                if project != nil || role != nil { throw ValidationError("--join takes no --project or --role") }
                if let ttlHours, ttlHours <= 0 { throw ValidationError("--ttl-hours must be positive") }
            } else {
                guard project != nil else { throw ValidationError("pass --project P --role view|edit, or --join") }
                guard let role, role == "view" || role == "edit" else {
                    throw ValidationError("--role must be view or edit")
                }
            }
        }

        static func ttlSeconds(_ s: String) -> Int? { TokenCommand.parseTTL(s) }

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let seconds = ttl.flatMap(Self.ttlSeconds) ?? ttlHours.map { $0 * 3600 }
                let request =
                    join
                    ? TokenRequest(name: name, role: .join, ttlSeconds: seconds ?? 24 * 3600)
                    : TokenRequest(
                        name: name, project: project, role: TokenRole(rawValue: role ?? "view") ?? .view, ttlSeconds: seconds)
                let info = try await api.send(.POST, "/api/v1/tokens", body: encodeJSON(request)).decode(TokenInfo.self)
                if quiet {
                    printOut(info.token ?? "")
                } else if join {
                    printOut(
                        "join token \(info.name) (expires \(info.expiresAt ?? "?")):\n\(info.token ?? "")\n"
                            + "Store it now: it cannot be shown again.")
                } else {
                    printOut(
                        "token \(info.name) (identity \(info.identity), role \(info.role.rawValue) in project \(info.project ?? "")):\n"
                            + "\(info.token ?? "")\nStore it now: it cannot be shown again.")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tokens (without secrets).")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let list = try await api.send(.GET, "/api/v1/tokens").decode(TokenList.self)
                var t = Table(headers: ["ID", "KIND", "PROJECT", "ROLE", "IDENTITY", "CREATED", "EXPIRES", "LAST USED"])
                t.rows = list.items.map {
                    let kind: String
                    switch $0.role {
                    case .view, .edit: kind = "project"
                    case .join: kind = "join"
                    case .node: kind = "node"
                    }
                    let role = kind == "project" ? $0.role.rawValue : "-"
                    return [
                        $0.id, kind, $0.project ?? "-", role, $0.identity, $0.createdAt, $0.expiresAt ?? "never",
                        $0.lastUsedAt ?? "-",
                    ]
                }
                printOut(t.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke a token (project, join or node) by its ID: its next request gets 401 and its open watches end.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Token ID (from `kumo token ls`).") var id: String

        func run() async throws {
            try await runReporting {
                let answer = try await client.client().send(.DELETE, "/api/v1/tokens/" + APIPaths.encode(id)).json()
                let closed = Int(answer["watchesClosed"]?.numberValue ?? 0)
                printOut("token \(id) revoked" + (closed > 0 ? " (\(closed) open watch\(closed == 1 ? "" : "es") closed)" : ""))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a token (same as revoke).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Token name.") var name: String

        func run() async throws {
            try await runReporting {
                try await client.client().send(.DELETE, "/api/v1/tokens/" + APIPaths.encode(name))
                printOut("token \(name) revoked")
            }
        }
    }
}
