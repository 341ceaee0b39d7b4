import ArgumentParser
import KumoAPI

/// `kumo`: the control plane, the node agent, and the CLI, in one binary.
public struct Kumo: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kumo",
        abstract: "Kumo: a private cloud in one binary.",
        discussion: """
            Start a control plane with `kumo server`, point the CLI at it with `kumo login`, then describe what you \
            want in YAML and `kumo apply -f` it. Every object's changes are kept (`kumo history`), and what the \
            components did is in `kumo events`.
            """,
        version: KumoVersion.current,
        subcommands: [
            ServerCommand.self, LoginCommand.self, ApplyCommand.self, GetCommand.self, DescribeCommand.self,
            DeleteCommand.self, HistoryCommand.self, EventsCommand.self, ScaleCommand.self, RolloutCommand.self,
            CordonCommand.self, DrainCommand.self, ImageCommand.self, SecretCommand.self, TokenCommand.self, AuditCommand.self,
            BackupCommand.self, AgentCommand.self, LogsCommand.self, InstanceCommand.self, ConsoleCommand.self, StateCommand.self,
            VersionCommand.self, CompletionCommand.self, DoctorCommand.self, ExplainCommand.self,
        ])

    public init() {}

    /// Entry point for `main.swift` (picks the async `main`, not ParsableCommand's synchronous one).
    public static func start() async {
        await main(nil)
    }
}
