import KumoModel
import KumoSystem

/// Runs `ip` (iproute2) in a chosen network namespace: the current one when `netns` is nil (the agent runs
/// inside the node's namespace), else through `ip -n <netns>`, which is how tests build a throwaway "host"
/// without touching the machine's root namespace. Batches (`ip -batch -`) turn a dozen operations into one
/// process: each separate `ip` costs several milliseconds to start.
struct IPCommand: Sendable {
    let command: Command
    let netns: String?
    /// A namespace file to run `ip` in through `nsenter --net=` (e.g. `/proc/PID/ns/net` of an unnamed namespace).
    let enter: String?

    init(command: Command, netns: String?, enter: String? = nil) {
        self.command = command
        self.netns = netns
        self.enter = enter
    }

    func argv(_ args: [String]) -> [String] {
        var argv = ["ip"]
        if let enter { argv = ["nsenter", "--net=\(enter)", "ip"] }
        if let netns { argv += ["-n", netns] }
        return argv + args
    }

    /// Runs one `ip` command; returns the whole result so callers can accept specific failures.
    func run(_ args: [String]) async throws(KumoError) -> CommandResult {
        try await command.run(argv(args))
    }

    /// Runs one `ip` command and throws on failure.
    @discardableResult
    func check(_ args: [String], what: String) async throws(KumoError) -> String {
        let result = try await run(args)
        guard result.succeeded else { throw Self.error(what, result) }
        return result.stdout
    }

    /// Runs `lines` as one `ip -batch -`; the batch stops at the first failing line, and its stderr names it.
    func batch(_ lines: [String], what: String) async throws(KumoError) {
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let result = try await command.run(argv(["-batch", "-"]), input: input)
        guard result.succeeded else { throw Self.error(what, result) }
    }

    /// Whether interface `name` exists in this namespace.
    func linkExists(_ name: String) async throws(KumoError) -> Bool {
        let result = try await run(["-o", "link", "show", "dev", name])
        if result.succeeded { return true }
        if Self.isMissingDevice(result.stderr) { return false }
        throw Self.error("failed to look up \(name)", result)
    }

    static func isMissingDevice(_ stderr: String) -> Bool {
        stderr.contains("does not exist") || stderr.contains("Cannot find device")
    }

    static func error(_ what: String, _ result: CommandResult) -> KumoError {
        var detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if detail.isEmpty { detail = "exit \(result.status)" }
        return KumoError(.internal, "\(what): \(detail.prefix(2000))")
    }
}
