import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// Options every command that talks to the server shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Client configuration file (default: $KUMO_CONFIG or ~/.kumo/config).")
    var configPath: String?

    @Option(name: .customLong("server"), help: "Server URL, overriding the configuration (e.g. https://127.0.0.1:7480).")
    var server: String?

    func config() throws(KumoError) -> ClientConfig {
        var config = try ClientConfig.load(from: configPath ?? ClientConfig.defaultPath)
        if let server { config.server = server }
        return config
    }

    func client() throws(KumoError) -> KumoClient { KumoClient(config: try config()) }
}

/// Project selection for project-scoped kinds.
struct ProjectOptions: ParsableArguments {
    @Option(name: [.short, .customLong("project")], help: "Project (default: the configuration's project).")
    var project: String?

    // -A as in kubectl's --all-namespaces (what users type from habit); -a is kept for scripts that use it.
    @Flag(name: [.customShort("A"), .customShort("a"), .customLong("all-projects")], help: "List across all projects (admin).")
    var allProjects = false

    func resolve(_ kind: Kind, config: ClientConfig) throws(KumoError) -> String? {
        switch kind.scope {
        case .cluster: return nil
        case .either, .project:
            if allProjects { return nil }
            if let p = project ?? config.project { return p }
            if kind.scope == .either { return nil }
            throw KumoError(
                .invalid, "\(kind.plural) live in a project: pass -p PROJECT (or -A to list all projects)",
                field: "project")
        }
    }
}

/// The project of a command on one project-scoped object: `-p` or the configuration's.
func requireProject(_ p: String?) throws(KumoError) -> String {
    guard let p else { throw KumoError(.invalid, "pass -p PROJECT (or set a default with kumo login -p)", field: "project") }
    return p
}

/// Runs a command body, printing `error: …` and exiting 1 on failure instead of a stack of Swift types.
func runReporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as KumoError {
        var message = "error: \(e.message)"
        if let field = e.field, !field.isEmpty, !e.message.contains(field) { message += " (field \(field))" }
        if e.code == .unauthorized && !e.message.contains("kumo login") {
            message += "\nhint: log in again with `kumo login --server URL --token-file FILE` (config: \(ClientConfig.defaultPath))"
        }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        throw ExitCode(e.code == .unauthorized ? 2 : 1)
    }
}

func printOut(_ s: String) {
    FileHandle.standardOutput.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
}

func printErr(_ s: String, newline: Bool = true) {
    FileHandle.standardError.write(Data((s.hasSuffix("\n") || !newline ? s : s + "\n").utf8))
}
