import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `kumo logs` and `kumo console`: `KIND/NAME`, `KIND NAME` or `NAME` in a project, its text streamed to stdout through the
/// server from the node's agent — the last `tail` lines, then, with `follow`, what is appended.
struct AgentStream: Sendable {
    let kind: Kind
    let path: @Sendable (_ project: String, _ name: String) -> String

    /// The command's name ("logs", "console"), for its usage and its errors.
    let command: String
    let abstract: String
    let example: String

    static let logs = AgentStream(
        kind: .replica, path: APIPaths.replicaLogs, command: "logs",
        abstract: "A replica's container output (stdout and stderr), through the server from its node's agent.",
        example: "kumo logs replica/web-7f9c2-abcde -p demo -f --tail 20")

    static let console = AgentStream(
        kind: .instance, path: APIPaths.instanceConsole, command: "console",
        abstract: "An instance's serial console (what the guest printed), through the server from its node's agent.",
        example: "kumo console instance/vm1 -p demo -f")

    /// The command's name, abstract, usage (`kumo logs replica/NAME [options]`, `kumo logs [replica] NAME [options]`)
    /// and example.
    var configuration: CommandConfiguration {
        let k = kind.rawValue.lowercased()
        return CommandConfiguration(
            commandName: command, abstract: abstract,
            usage: "kumo \(command) \(k)/NAME [options]\nkumo \(command) [\(k)] NAME [options]",
            discussion: "Example: \(example)")
    }

    /// The help of the object argument: `replica/NAME, replica NAME or just NAME.`
    var targetHelp: ArgumentHelp {
        let k = kind.rawValue.lowercased()
        return ArgumentHelp("\(k)/NAME, \(k) NAME or just NAME.", valueName: k)
    }

    /// The whole command: resolves `target` in its project, streams, and reports a failure as `error: …`.
    func run(target: [String], _ options: AgentStreamOptions) async throws {
        try await runReporting {
            let name = try ObjectArgument.name(target, of: kind, command: command)
            let config = try options.client.config()
            guard let project = try options.projects.resolve(kind, config: config) else {
                throw KumoError(.invalid, "\(kind.plural) live in a project: pass -p PROJECT", field: "project")
            }
            var query: [(String, String)] = []
            if let tail = options.tail { query.append(("tail", String(tail))) }
            if options.follow { query.append(("follow", "true")) }
            try await options.client.client().stream(path(project, name), query: query) { chunk in
                FileHandle.standardOutput.write(Data(chunk))
            }
        }
    }
}

/// The options of `kumo logs` and `kumo console`, besides the object: server and project, `-f` and `--tail`.
struct AgentStreamOptions: ParsableArguments {
    @OptionGroup var client: ClientOptions
    @OptionGroup var projects: ProjectOptions
    @Flag(name: .shortAndLong, help: "Keep streaming new output.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?
}
