import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every recorded change of an object: revision, time, manager, and what changed.",
        usage: "kumo history KIND/NAME [options]\nkumo history KIND NAME [options]",
        discussion: "Examples: kumo history node/n1   kumo history node n1   kumo history workload/web -p shop --patches")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project of a project-scoped object.")
    var project: String?

    @Argument(help: ArgumentHelp("KIND/NAME (e.g. node/n1), or KIND followed by NAME.", valueName: "object"))
    var object: [String]

    @Flag(help: "Print each change's full JSON patch.")
    var patches = false

    @Option(name: .short, help: "Output: table, json, yaml.")
    var output: OutputFormat = .table

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let api = KumoClient(config: config)
            let ref = try ObjectArgument.parseOne(object)
            let (k, n) = (ref.kind, ref.name)
            let p = k.scope == .cluster ? nil : project ?? config.project
            let response = try await api.send(.GET, APIPaths.history(k, project: p, name: n))
            let history = try response.decode(HistoryList.self)
            switch output {
            case .json: printOut(try response.json().prettyString)
            case .yaml: printOut(YAMLCodec.yaml(try response.json()))
            case .table, .wide:
                var t = Table(headers: ["REVISION", "TIME", "MANAGER", "OPERATION", "CHANGES"])
                for h in history.items {
                    var changes = h.patch.map { "\($0.op.rawValue) \($0.path.isEmpty ? "/" : $0.path)" }.joined(separator: ", ")
                    if changes.count > 80 && !patches { changes = String(changes.prefix(77)) + "..." }
                    if let forced = h.forced, !forced.isEmpty {
                        changes += " [forced: " + forced.map { "\($0.field) from \($0.previousOwner)" }.joined(separator: ", ") + "]"
                    }
                    t.rows.append([String(h.revision ?? 0), h.time, h.manager, h.operation, changes])
                }
                printOut(t.render())
                if patches {
                    for h in history.items {
                        let ops = h.patch.map { op -> JSONValue in
                            var o: [String: JSONValue] = ["op": .string(op.op.rawValue), "path": .string(op.path)]
                            if let v = op.value { o["value"] = v }
                            return .object(o)
                        }
                        printOut("--- revision \(h.revision ?? 0) by \(h.manager)\n" + JSONValue.array(ops).prettyString)
                    }
                }
            }
        }
    }
}
