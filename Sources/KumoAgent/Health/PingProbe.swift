import Foundation
import KumoModel
import KumoSystem

/// Probes of peer nodes across the underlay with iputils `ping` (no shell, argv only; entered into the host
/// namespace with `nsenter` like the agent's other host-side commands): a small echo, and a don't-fragment echo
/// of the overlay's full frame size plus VXLAN overhead — the packet a full-MTU pod frame becomes. The small one
/// answering and the big one not is the classic "pings work, TCP hangs" MTU black hole.
enum PingProbe {
    /// IPv4 header (20) + ICMP header (8): `ping -s` counts payload only.
    static let headerBytes = 28
    /// Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
    static let vxlanOverhead = 50

    struct Target: Sendable, Equatable {
        var node: String
        var address: String
    }

    /// What one peer's probes found.
    struct Outcome: Sendable, Equatable {
        var node: String
        var address: String
        var reachable: Bool
        var fullSizeReachable: Bool?
        var probeBytes: Int?
        var rttMs: Double?
        var error: String?
    }

    /// One echo, waiting at most a second for the answer; `payload` set: that size with don't-fragment.
    static func argv(address: String, payload: Int? = nil, hostNetns: String?) -> [String] {
        var argv = ["ping", "-c", "1", "-W", "1", "-n"]
        if let payload { argv += ["-M", "do", "-s", String(payload)] }
        argv.append(address)
        if let hostNetns { argv = ["nsenter", "--net=/run/netns/\(hostNetns)"] + argv }
        return argv
    }

    /// `time=0.045 ms` of the reply line; nil without a reply.
    static func rttMs(_ output: String) -> Double? {
        for line in output.split(separator: "\n") where line.contains("bytes from") {
            guard let r = line.range(of: "time=") else { continue }
            let rest = line[r.upperBound...]
            let number = rest.prefix { $0.isNumber || $0 == "." }
            if let v = Double(number) { return v }
        }
        return nil
    }

    /// Why an echo got no answer, in ping's words when it gave some (`local error: message too long, mtu=1450`,
    /// `Frag needed and DF set`, `Destination Host Unreachable`), else "no reply within 1 s".
    static func failure(stdout: String, stderr: String) -> String {
        let lines = (stderr + "\n" + stdout).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let markers = ["error", "Frag needed", "Unreachable", "unreachable", "too long", "Network", "Operation", "Cannot", "unknown"]
        if let line = lines.first(where: { l in markers.contains { l.contains($0) } }) {
            return line.hasPrefix("ping: ") ? String(line.dropFirst(6)) : line
        }
        return "no reply within 1 s"
    }

    /// Both probes of one peer (the full-size one only when the small one answered).
    static func probe(_ target: Target, fullSize: Int, hostNetns: String?, command: Command) async -> Outcome {
        var out = Outcome(node: target.node, address: target.address, reachable: false, probeBytes: fullSize)
        switch await echo(argv(address: target.address, hostNetns: hostNetns), command: command) {
        case .success(let rtt):
            out.reachable = true
            out.rttMs = rtt
        case .failure(let why):
            out.error = why.message
            return out
        }
        switch await echo(argv(address: target.address, payload: fullSize - headerBytes, hostNetns: hostNetns), command: command) {
        case .success:
            out.fullSizeReachable = true
        case .failure(let why):
            out.fullSizeReachable = false
            out.error = "\(fullSize)-byte don't-fragment probe: \(why.message)"
        }
        return out
    }

    /// Every target probed, at most `fanOut` at once, all within `deadline` overall: a probe still running then,
    /// or not started by then, is reported as a failure.
    static func probeAll(
        _ targets: [Target], fullSize: Int, hostNetns: String?, fanOut: Int = 16, deadline: Duration = .milliseconds(2500),
        command: Command = Command()
    ) async -> [Outcome] {
        let end = ContinuousClock.now + deadline
        var results: [Outcome] = []
        await withTaskGroup(of: Outcome.self) { group in
            var pending = targets[...]
            func add(_ t: Target) {
                group.addTask {
                    let late = Outcome(
                        node: t.node, address: t.address, reachable: false, probeBytes: fullSize,
                        error: "no result within \(deadline.shortDescription)")
                    let left = end - ContinuousClock.now
                    guard left > .zero else { return late }
                    return await Deadline.run(left) { await probe(t, fullSize: fullSize, hostNetns: hostNetns, command: command) } ?? late
                }
            }
            for _ in 0..<max(1, fanOut) {
                guard let t = pending.popFirst() else { break }
                add(t)
            }
            for await r in group {
                results.append(r)
                if let t = pending.popFirst() { add(t) }
            }
        }
        return results.sorted { $0.node < $1.node }
    }

    private static func echo(_ argv: [String], command: Command) async -> Result<Double?, HealthProbeError> {
        do {
            let r = try await command.run(argv, outputLimit: 64 << 10)
            if r.succeeded { return .success(rttMs(r.stdout)) }
            return .failure(HealthProbeError(failure(stdout: r.stdout, stderr: r.stderr)))
        } catch {
            return .failure(HealthProbeError("cannot run ping: \(error.message)"))
        }
    }
}
