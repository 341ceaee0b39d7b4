import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage tokens (admin): project tokens, and join tokens for node agents.",
        subcommands: [Create.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a project token, or a join token for node agents; the secret is printed once.",
            discussion: """
                Examples: kumo token create --project shop --role edit --name ci
                          kumo token create --join --ttl-hours 2   (agents exchange it for their node token)
                """)
        @OptionGroup var client: ClientOptions
        @Option(help: "Project the token may use (project tokens).") var project: String?
        @Option(help: "view (read, no secret values) or edit (read and write).") var role: String?
        @Flag(help: "Make a join token instead: it lets node agents join and get their node token.") var join = false
        @Option(help: "Join tokens: hours until it expires.") var ttlHours: Int = 24
        @Option(help: "Token name (a project token's identity becomes token/NAME).") var name: String?
        @Flag(help: "Print only the secret (for scripts).") var quiet = false

        func validate() throws {
            if join {
                if project != nil || role != nil { throw ValidationError("--join takes no --project or --role") }
                guard ttlHours > 0 else { throw ValidationError("--ttl-hours must be positive") }
            } else {
                guard project != nil else { throw ValidationError("pass --project P --role view|edit, or --join") }
                guard let role, role == "view" || role == "edit" else {
                    throw ValidationError("--role must be view or edit")
                }
            }
        }

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let request =
                    join
                    ? TokenRequest(name: name, role: .join, ttlSeconds: ttlHours * 3600)
                    : TokenRequest(name: name, project: project, role: TokenRole(rawValue: role ?? "view") ?? .view)
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
                var t = Table(headers: ["NAME", "ROLE", "PROJECT", "IDENTITY", "CREATED", "BY", "EXPIRES"])
                t.rows = list.items.map {
                    [$0.name, $0.role.rawValue, $0.project ?? "-", $0.identity, $0.createdAt, $0.createdBy, $0.expiresAt ?? "-"]
                }
                printOut(t.render())
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a project token.")
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

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Online backups of the store.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the store to FILE while the server keeps serving.",
            discussion: "Restore with: kumo server --restore FILE --data-dir NEW_DIR")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Where to write the backup.") var file: String

        func run() async throws {
            try await runReporting {
                let api = try client.client()
                let response = try await api.send(.GET, "/api/v1/backup", maxResponseBytes: 64 << 30)
                try SecureFile.write(Data(response.body), to: file)
                printOut("backup written to \(file) (\(response.body.count) bytes)")
                printOut("note: secret values in it are sealed; keep a copy of the server's <data-dir>/secrets.key with it, or they cannot be opened after a restore")
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
