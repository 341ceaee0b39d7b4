import ArgumentParser

/// `kumo console`: what it shows and how is `AgentStream.console`.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = AgentStream.console.configuration
    @Argument(help: AgentStream.console.targetHelp) var target: [String]
    @OptionGroup var options: AgentStreamOptions

    func run() async throws { try await AgentStream.console.run(target: target, options) }
}
