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
                let body = try JSONEncoder().encode(request)
                let info = try await api.send(.POST, "/api/v1/tokens", body: Array(body)).decode(TokenInfo.self)
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

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Refused requests (admin): authentication failures, authorization denials, rate limiting.",
        discussion: "Newest first. Example: kumo audit --reason forbidden --limit 20")
    @OptionGroup var client: ClientOptions
    @Option(help: "Only this reason: unauthenticated, expired, forbidden, rateLimited.") var reason: String?
    @Option(help: "Only requests from this source address.") var source: String?
    @Option(help: "Newest N records.") var limit: Int = 100
    @Option(name: .shortAndLong, help: "table or json.") var output: String = "table"

    func run() async throws {
        try await runReporting {
            var query: [(String, String)] = [("limit", String(limit))]
            if let reason { query.append(("reason", reason)) }
            if let source { query.append(("source", source)) }
            let answer = try await client.client().send(.GET, "/api/v1/audit", query: query).json()
            if output == "json" {
                printOut(JSONPretty.format(answer))
                return
            }
            var t = Table(headers: ["TIME", "REASON", "WHO", "FROM", "REQUEST", "MESSAGE"])
            t.rows = (answer["items"]?.arrayValue ?? []).map {
                [
                    $0["time"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "", $0["who"]?.stringValue ?? "",
                    $0["source"]?.stringValue ?? "",
                    "\($0["method"]?.stringValue ?? "") \($0["path"]?.stringValue ?? "")",
                    String(($0["message"]?.stringValue ?? "").prefix(80)),
                ]
            }
            printOut(t.render())
        }
    }
}

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

struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "A component's internal state as JSON (admin).",
        discussion: "Components: server (store, watches, controllers, scheduler), agent/NODE (runners, images, heartbeat; through the server), lb/NODE (the node's HAProxy: config state, last reload, per backend and server sessions, queue, request rate, timings, errors, findings), dhcp/NODE (the node's dnsmasq: hosts entries, leases, DHCP message counters).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "server, agent/NODE, lb/NODE or dhcp/NODE.") var component: String = "server"
    @Flag(help: "agent/NODE only: just the network part (overlay peers: expected entries, last sync, last repair).")
    var network = false

    func run() async throws {
        try await runReporting {
            let path: String
            if component == "server" {
                path = "/debug/state"
            } else if component.hasPrefix("agent/"), component.count > 6 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(6))))/state"
            } else if component.hasPrefix("lb/"), component.count > 3 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(3))))/state"
            } else if component.hasPrefix("dhcp/"), component.count > 5 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(5))))/state"
            } else {
                throw KumoError(.notFound, "unknown component \"\(component)\": expected server, agent/NODE, lb/NODE or dhcp/NODE")
            }
            var state = try await client.client().send(.GET, path).json()
            if component.hasPrefix("lb/") { state = state["loadBalancer"] ?? .null }
            if component.hasPrefix("dhcp/") { state = state["dhcp"] ?? .null }
            if network {
                guard component != "server" else { throw KumoError(.invalid, "--network applies to agent/NODE", field: "network") }
                state = state["network"] ?? .null
            }
            printOut(JSONPretty.format(state))
        }
    }
}

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Client and server versions.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        printOut("client: kumo \(KumoVersion.current) (API \(Kind.apiVersion))")
        do {
            let v = try await client.client().send(.GET, "/version").decode(VersionInfo.self)
            printOut("server: kumo \(v.version) (API \(v.apiVersion))")
        } catch {
            printOut("server: unknown (\(error.message))")
        }
    }
}

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script.",
        discussion: "bash: source <(kumo completion bash)   zsh: kumo completion zsh > \"${fpath[1]}/_kumo\"   fish: kumo completion fish | source")
    @Argument(help: "bash, zsh or fish.") var shell: String

    func run() throws {
        guard let s = CompletionShell(rawValue: shell) else { throw ValidationError("shell must be bash, zsh or fish") }
        printOut(Kumo.completionScript(for: s))
    }
}
