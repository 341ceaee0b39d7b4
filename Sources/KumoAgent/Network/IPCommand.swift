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

    /// Runs one `ip` command; returns the whole result (a failure becomes an error through `error(_:_:)`).
    func run(_ args: [String]) async throws(KumoError) -> CommandResult {
        try await command.run(argv(args))
    }

    /// Runs one `ip` command and throws on failure, with the code `error(_:_:)` gives it.
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
        do {
            try await check(["-o", "link", "show", "dev", name], what: "failed to look up \(name)")
            return true
        } catch where error.code == .notFound {
            return false
        }
    }

    /// The error for a failed `ip` run, quoting its stderr. Its code says what the kernel answered, so callers
    /// test the code and never the text: `.notFound` for a device that does not exist, `.alreadyExists` for
    /// EEXIST ("File exists": a veth or namespace of that name is there already), `.internal` for the rest.
    static func error(_ what: String, _ result: CommandResult) -> KumoError {
        var detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if detail.isEmpty { detail = "exit \(result.status)" }
        return KumoError(code(stderr: result.stderr), "\(what): \(detail.prefix(2000))")
    }

    /// The one place that reads iproute2's messages (it has no machine-readable errors; these are the
    /// strerror texts and its own "Cannot find device" / "Device … does not exist").
    static func code(stderr: String) -> KumoError.Code {
        if stderr.contains("does not exist") || stderr.contains("Cannot find device") { return .notFound }
        if stderr.contains("File exists") { return .alreadyExists }
        return .internal
    }
}
