import ArgumentParser

/// `kumo logs`: what it shows and how is `AgentStream.logs`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = AgentStream.logs.configuration
    @Argument(help: AgentStream.logs.targetHelp) var target: [String]
    @OptionGroup var options: AgentStreamOptions

    func run() async throws { try await AgentStream.logs.run(target: target, options) }
}
