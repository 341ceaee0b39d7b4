import ArgumentParser
import Foundation
import KumoAPI
import KumoDoctor
import KumoModel

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "What is wrong, and where it starts: health checks with stable codes, root causes first.",
        discussion: """
            kumo doctor                    the whole cloud: root causes first, each with the symptoms it explains
            kumo doctor service/web        why that object is unhealthy (node/N, replica/R, instance/I, workload/W)
            kumo doctor -o json            {"status", "checks": [...], "causes": [... each with "explains"]}
            kumo doctor explain CODE       what a code means, its look-alikes, what to do
            kumo doctor mute CODE --ttl 1h hide a code from the status (ends early when it grows, unless --sticky)
            kumo doctor --bundle FILE      a debug bundle (tar.gz) of every component's state, secrets redacted
            Each finding names the component responsible (`kumo explain COMPONENT`).
            """,
        subcommands: [DoctorCheckCommand.self, DoctorExplainCommand.self, DoctorMuteCommand.self, DoctorUnmuteCommand.self],
        defaultSubcommand: DoctorCheckCommand.self)
}

struct DoctorCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Evaluate every health check now and rank the causes (the default).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "KIND/NAME to diagnose: node/N, service/S, replica/R, instance/I, workload/W.") var target: String?
    @Option(name: [.short, .customLong("project")], help: "The target's project, or only findings about this project.")
    var project: String?
    @Option(name: .shortAndLong, help: "table or json.") var output: String = "table"
    @Option(help: "Write a debug bundle (tar.gz) to this file instead.") var bundle: String?

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("--output must be table or json, not \(output)") }
    }

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let kumo = KumoClient(config: config)
            if let bundle {
                try await DebugBundle(client: kumo, token: config.token).write(to: bundle)
                printOut("wrote \(bundle)")
                return
            }
            var query: [(String, String)] = [("fresh", "true")]
            let project = self.project ?? config.project
            if let target {
                let parsed = try Doctor.target(target, project: project)
                if parsed.kind != "Node", parsed.kind != "Image", parsed.project == nil {
                    throw KumoError(.invalid, "\(target) is in a project: pass -p PROJECT", field: "project")
                }
                query.append(("target", target))
                if let p = parsed.project { query.append(("project", p)) }
            } else if let p = self.project {
                query.append(("project", p))
            }
            let response = try await kumo.send(.GET, APIRoute.doctor.rawValue, query: query)
            if output == "json" {
                printOut(try response.json().prettyString)
                return
            }
            printOut(DoctorTable.render(try response.decode(DoctorReport.self), target: target))
        }
    }
}

struct DoctorExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "The runbook of a health check code: what it means, its look-alikes, what to do.",
        discussion: "Without a code: every code with its component and title.")
    @Argument(help: "A code such as AGENT_DOWN.") var code: String?

    func run() async throws {
        try await runReporting {
            guard let code else {
                var t = Table(headers: ["CODE", "SEVERITY", "COMPONENT", "TITLE"])
                t.rows = Doctor.definitions.map { [$0.code, $0.severity.rawValue, $0.component.rawValue, $0.title] }
                printOut(t.render())
                return
            }
            printOut(Runbooks.text(try Doctor.definition(code)))
        }
    }
}

struct DoctorMuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mute", abstract: "Mute a code (admin): it no longer counts in the status.",
        discussion: "As in Ceph: a mute ends after --ttl; unless --sticky, also when the code clears or its count grows. Without a code: the mutes.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The code to mute.") var code: String?
    @Option(help: "How long: 30s, 10m, 1h, 7d.") var ttl: String?
    @Flag(help: "Keep the mute when the count grows or the code clears (needs --ttl).") var sticky = false

    func run() async throws {
        try await runReporting {
            let kumo = try client.client()
            guard let code else {
                let list = try await kumo.send(.GET, APIRoute.doctorMutes.rawValue).json()
                var t = Table(headers: ["CODE", "UNTIL", "STICKY", "COUNT", "BY"])
                t.rows = (list["items"]?.arrayValue ?? []).map {
                    [
                        $0["code"]?.stringValue ?? "", $0["until"]?.stringValue ?? "until it lapses",
                        ($0["sticky"]?.boolValue ?? false) ? "yes" : "no", $0["count"]?.intValue.map(String.init) ?? "-",
                        $0["createdBy"]?.stringValue ?? "",
                    ]
                }
                printOut(t.rows.isEmpty ? "no mutes" : t.render())
                return
            }
            _ = try Doctor.definition(code)
            var body: [String: JSONValue] = ["code": .string(code.uppercased()), "sticky": .bool(sticky)]
            if let ttl { body["ttlSeconds"] = .number(Double(try DurationText.seconds(ttl, field: "ttl"))) }
            let m = try await kumo.send(.POST, APIRoute.doctorMutes.rawValue, body: JSONValue.object(body).serialized()).json()
            printOut("muted \(m["code"]?.stringValue ?? code)" + (m["until"]?.stringValue.map { " until \($0)" } ?? "") + (sticky ? " (sticky)" : ""))
        }
    }
}

struct DoctorUnmuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmute", abstract: "Remove the mute of a code (admin).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "The code.") var code: String

    func run() async throws {
        try await runReporting {
            _ = try await client.client().send(.DELETE, APIPaths.doctorMute(code.uppercased()))
            printOut("unmuted \(code.uppercased())")
        }
    }
}

/// `30s`, `10m`, `1h`, `7d`, or plain seconds.
enum DurationText {
    static func seconds(_ text: String, field: String) throws(KumoError) -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var digits = text
        var unit = 1
        if let last = text.last, let u = units[last] {
            unit = u
            digits = String(text.dropLast())
        }
        guard let n = Int(digits), n > 0, n <= 366 * 86400 / unit else {
            throw KumoError(.invalid, "\(field) must be a duration like 30s, 10m, 1h or 7d, not \"\(text)\"", field: field)
        }
        return n * unit
    }
}
