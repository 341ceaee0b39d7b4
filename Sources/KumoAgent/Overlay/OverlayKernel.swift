import KumoModel
import KumoSystem
import Logging

/// The I/O shell around `OverlayDiff`: creates and repairs the VXLAN device, reads its routes, neighbours and FDB
/// entries, and applies a plan — with a fixed number of processes however many peers there are (three to read,
/// at most two to apply), because one `ip` per entry costs ~1 s for 300 peers where a batch takes ~15 ms
/// (DATAPATH.md). `hostNetns` nil = the current namespace is the host; tests pass a throwaway namespace.
public struct OverlayKernel: Sendable {
    public let device: String
    let command: Command
    let logger: Logger

    public init(device: String = "kumo.1", command: Command = Command(), logger: Logger) throws(KumoError) {
        try SafeName.checkInterface(device)
        self.device = device
        self.command = command
        self.logger = logger
    }

    /// The device's routes (IPv4, main table), neighbours (IPv4) and FDB entries; three processes run
    /// concurrently. A missing device is `.notFound` (call `ensureDevice` first).
    public func read(hostNetns: String? = nil) async throws(KumoError) -> OverlayKernelState {
        try checkNetns(hostNetns)
        let ip = IPCommand(command: command, netns: hostNetns)
        let routesArgv = ip.argv(["-4", "-j", "route", "show", "dev", device])
        let neighborsArgv = ip.argv(["-4", "-j", "neigh", "show", "dev", device])
        let fdbArgv = bridgeArgv(["-j", "fdb", "show", "dev", device], hostNetns: hostNetns)
        let command = self.command
        let results: [CommandResult]
        do {
            async let routes = command.run(routesArgv)
            async let neighbors = command.run(neighborsArgv)
            async let fdb = command.run(fdbArgv)
            results = try await [routes, neighbors, fdb]
        } catch let error as KumoError {
            throw error
        } catch {
            throw KumoError(.internal, "failed to read overlay entries: \(error)", cause: error)
        }
        for result in results where !result.succeeded {
            let error = IPCommand.error("failed to read overlay entries (\(result.argv.prefix(6).joined(separator: " ")))", result)
            if error.code == .notFound {
                throw KumoError(.notFound, "failed to read overlay entries: device \(device) does not exist")
            }
            throw error
        }
        return try OverlayKernelState.parse(routes: results[0].stdout, neighbors: results[1].stdout, fdb: results[2].stdout)
    }

    /// Runs the plan: one `ip -batch -` (routes, neighbours) and one `bridge -batch -` (FDB). Each batch stops at
    /// its first failing line; both always run (an FDB repair should not wait for an unrelated route), and the
    /// thrown error names every failing line. Lines are `replace` or delete-of-what-was-read, so re-reading and
    /// re-planning after a failure converges.
    public func apply(_ plan: OverlayPlan, hostNetns: String? = nil) async throws(KumoError) {
        try checkNetns(hostNetns)
        guard plan.device == device else {
            throw KumoError(.invalid, "failed to apply overlay plan: it is for \(plan.device), this is \(device)")
        }
        if plan.isEmpty { return }
        var failures: [String] = []
        let ipLines = plan.ipBatch
        if !ipLines.isEmpty {
            let argv = IPCommand(command: command, netns: hostNetns).argv(["-batch", "-"])
            if let failure = try await runBatch(argv, lines: ipLines, name: "ip") { failures.append(failure) }
        }
        let bridgeLines = plan.bridgeBatch
        if !bridgeLines.isEmpty {
            let argv = bridgeArgv(["-batch", "-"], hostNetns: hostNetns)
            if let failure = try await runBatch(argv, lines: bridgeLines, name: "bridge") { failures.append(failure) }
        }
        for repair in plan.repairs { logger.debug("overlay repair", metadata: ["repair": "\(repair)"]) }
        if !failures.isEmpty {
            throw KumoError(.internal, "failed to apply overlay plan on \(device): " + failures.joined(separator: "; "))
        }
        logger.info("overlay plan applied", metadata: ["device": "\(device)", "changes": "\(plan.summary)"])
    }

    /// Removes the device, which takes every route, neighbour and FDB entry on it along. A missing device is fine.
    public func removeDevice(hostNetns: String? = nil) async throws(KumoError) {
        try checkNetns(hostNetns)
        do {
            try await IPCommand(command: command, netns: hostNetns).check(["link", "del", "dev", device], what: "failed to delete \(device)")
            logger.info("overlay device removed", metadata: ["device": "\(device)"])
        } catch where error.code == .notFound {}
    }

    /// One batch; nil when every line applied, else a message naming the failing line (`Command failed -:N`)
    /// and what the kernel said. Some `ip` errors (a `neigh del` of a missing entry) exit without naming the
    /// line; the message then says so and quotes stderr.
    func runBatch(_ argv: [String], lines: [String], name: String) async throws(KumoError) -> String? {
        let input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let result = try await command.run(argv, input: input)
        if result.succeeded { return nil }
        return Self.batchFailure(name: name, lines: lines, status: result.status, stderr: result.stderr)
    }

    /// The message for a failed batch (pure, tested): `ip -batch line 3 of 7 "route del …": RTNETLINK answers:
    /// No such process (lines 4–7 not run)`.
    static func batchFailure(name: String, lines: [String], status: Int32, stderr: String) -> String {
        let output = stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let marker = "Command failed -:"
        let reasons = output.filter { !$0.hasPrefix(marker) }.joined(separator: " / ")
        let reason = reasons.isEmpty ? "exit \(status)" : String(reasons.prefix(500))
        if let failed = output.first(where: { $0.hasPrefix(marker) }), let n = Int(failed.dropFirst(marker.count)),
            n >= 1, n <= lines.count
        {
            let rest = n < lines.count ? " (lines \(n + 1)–\(lines.count) not run)" : ""
            return "\(name) -batch line \(n) of \(lines.count) \"\(lines[n - 1])\": \(reason)\(rest)"
        }
        return "\(name) -batch stopped at a line it did not name (exit \(status), \(lines.count) lines): \(reason)"
    }

    func bridgeArgv(_ args: [String], hostNetns: String?) -> [String] {
        var argv = ["bridge"]
        if let hostNetns { argv += ["-n", hostNetns] }
        return argv + args
    }

    func checkNetns(_ hostNetns: String?) throws(KumoError) {
        if let hostNetns { try SafeName.check(hostNetns, what: "netns name", maxLength: 64) }
    }
}
