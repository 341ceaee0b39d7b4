import Foundation
import KumoModel
import Logging
import Subprocess
import SystemPackage

/// What a finished program left behind: its exit status (128 + signal when killed) and captured output.
public struct CommandResult: Sendable {
    public var argv: [String]
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var succeeded: Bool { status == 0 }
}

/// Runs programs from an argv array — never through a shell — and turns failures into `KumoError`s that name
/// the program and quote its stderr. The one place Kumo spawns processes (`ip`, `runc`, `tar`, …): every child
/// is registered in the `SpawnLedger` while Subprocess waits for it.
public struct Command: Sendable {
    /// Where to look up a bare program name (the agent may run with an empty PATH under `ip netns exec`).
    public static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    let logger: Logger?

    public init(logger: Logger? = nil) { self.logger = logger }

    /// Runs `argv` to completion; `input` is written to its stdin. Never throws for a non-zero exit — look at
    /// `status`; throws only when the program cannot be started or its output exceeds `outputLimit`.
    public func run(_ argv: [String], input: [UInt8]? = nil, outputLimit: Int = 4 << 20) async throws(KumoError)
        -> CommandResult
    {
        guard let program = argv.first, !program.isEmpty else {
            throw KumoError(.internal, "failed to run a command: empty argv")
        }
        let executable = Self.executable(program)
        let arguments = Arguments(Array(argv.dropFirst()))
        do {
            let status: Int32
            let out: String?
            let err: String?
            if let input {
                let r = try await Self.spawn(
                    executable, arguments, input: .array(input), output: .string(limit: outputLimit),
                    error: .string(limit: outputLimit))
                (status, out, err) = (Self.status(r.terminationStatus), r.standardOutput, r.standardError)
            } else {
                let r = try await Self.spawn(
                    executable, arguments, input: .none, output: .string(limit: outputLimit),
                    error: .string(limit: outputLimit))
                (status, out, err) = (Self.status(r.terminationStatus), r.standardOutput, r.standardError)
            }
            logger?.trace("ran", metadata: ["argv": "\(argv)", "status": "\(status)"])
            return CommandResult(argv: argv, status: status, stdout: out ?? "", stderr: err ?? "")
        } catch {
            throw KumoError(.internal, "failed to run \(program): \(error)", cause: error)
        }
    }

    /// Runs `argv` and returns its stdout; a non-zero exit throws with the program's stderr in the message.
    @discardableResult
    public func check(_ argv: [String], input: [UInt8]? = nil, outputLimit: Int = 4 << 20) async throws(KumoError)
        -> String
    {
        let result = try await run(argv, input: input, outputLimit: outputLimit)
        guard result.succeeded else { throw Self.failure(result) }
        return result.stdout
    }

    /// Runs `argv` with its stdout and stderr going to already-open file descriptors (which stay open here), and
    /// returns the exit status. For programs that hand their stdio on to something long-lived (`runc run -d`).
    public func run(_ argv: [String], stdout: Int32, stderr: Int32, input: [UInt8]? = nil) async throws(KumoError)
        -> Int32
    {
        guard let program = argv.first, !program.isEmpty else {
            throw KumoError(.internal, "failed to run a command: empty argv")
        }
        let executable = Self.executable(program)
        let arguments = Arguments(Array(argv.dropFirst()))
        let out = FileDescriptor(rawValue: stdout)
        let err = FileDescriptor(rawValue: stderr)
        do {
            if let input {
                let r = try await Self.spawn(
                    executable, arguments, input: .array(input),
                    output: .fileDescriptor(out, closeAfterSpawningProcess: false),
                    error: .fileDescriptor(err, closeAfterSpawningProcess: false))
                return Self.status(r.terminationStatus)
            } else {
                let r = try await Self.spawn(
                    executable, arguments, input: .none,
                    output: .fileDescriptor(out, closeAfterSpawningProcess: false),
                    error: .fileDescriptor(err, closeAfterSpawningProcess: false))
                return Self.status(r.terminationStatus)
            }
        } catch {
            throw KumoError(.internal, "failed to run \(program): \(error)", cause: error)
        }
    }

    /// Every spawn of Kumo's: Subprocess's `run` with the child registered in the `SpawnLedger` from before
    /// `clone` until Subprocess has reaped it, so the agent's sweep of orphaned zombies never takes a child
    /// Subprocess is about to wait for (which would fail this run with ECHILD).
    static func spawn<Input: InputProtocol, Output: OutputProtocol, Failure: ErrorOutputProtocol>(
        _ executable: Executable, _ arguments: Arguments, input: Input, output: Output, error: Failure
    ) async throws -> ExecutionResult<Void, Output, Failure> {
        let spawn = await SpawnLedger.shared.begin()
        defer { spawn.end() }
        return try await Subprocess.run(executable, arguments: arguments, input: input, output: output, error: error) {
            execution in
            spawn.started(execution.processIdentifier.value)
        }
    }

    /// The error for a program that exited non-zero: `<program> <subcommand…> failed (exit N): <stderr>`.
    public static func failure(_ result: CommandResult) -> KumoError {
        let shown = result.argv.prefix(3).joined(separator: " ")
        var detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if detail.isEmpty { detail = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        if detail.count > 2000 { detail = String(detail.prefix(2000)) + "…" }
        return KumoError(.internal, "\(shown) failed (exit \(result.status)): \(detail)")
    }

    /// An absolute path for `program`: itself when it contains a `/`, else the first match on `searchPath`.
    public static func executable(_ program: String) -> Executable {
        resolve(program).map { .path(FilePath($0)) } ?? .name(program)
    }

    /// The path `executable` picks: `program` itself when it contains a `/`, else the first match on `searchPath`
    /// (nil: none there).
    public static func resolve(_ program: String) -> String? {
        if program.contains("/") { return program }
        return searchPath.lazy.map { $0 + "/" + program }.first { access($0, X_OK) == 0 }
    }

    static func status(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }
}

/// Whether `program` can be found (for clear "install runc" errors instead of a failed spawn).
public func programExists(_ program: String) -> Bool {
    if program.contains("/") { return access(program, X_OK) == 0 }
    return Command.searchPath.contains { access($0 + "/" + program, X_OK) == 0 }
}
