import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "An instance's serial console (what the guest printed), through the server from its node's agent.",
        usage: "kumo console instance/NAME [options]\nkumo console [instance] NAME [options]",
        discussion: "Example: kumo console instance/vm1 -p demo -f")
    @OptionGroup var client: ClientOptions
    @OptionGroup var projects: ProjectOptions
    @Argument(help: ArgumentHelp("instance/NAME, instance NAME or just NAME.", valueName: "instance")) var target: [String]
    @Flag(name: .shortAndLong, help: "Keep streaming new output.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?

    func run() async throws {
        try await runReporting {
            try await AgentStream(kind: .instance, path: APIPaths.instanceConsole, command: "console")
                .run(target: target, follow: follow, tail: tail, client: client, projects: projects)
        }
    }
}
