import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "A replica's container output (stdout and stderr), through the server from its node's agent.",
        usage: "kumo logs replica/NAME [options]\nkumo logs [replica] NAME [options]",
        discussion: "Example: kumo logs replica/web-7f9c2-abcde -p demo -f --tail 20")
    @OptionGroup var client: ClientOptions
    @OptionGroup var projects: ProjectOptions
    @Argument(help: ArgumentHelp("replica/NAME, replica NAME or just NAME.", valueName: "replica")) var target: [String]
    @Flag(name: .shortAndLong, help: "Keep streaming new output.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?

    func run() async throws {
        try await runReporting {
            try await AgentStream(kind: .replica, path: APIPaths.replicaLogs, command: "logs")
                .run(target: target, follow: follow, tail: tail, client: client, projects: projects)
        }
    }
}
