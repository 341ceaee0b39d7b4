import ArgumentParser

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
