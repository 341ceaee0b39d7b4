import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "List objects of a kind, or show one.",
        discussion: """
            Kinds: \(Kind.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")) (plural and short \
            names work too: nodes, wl, svc, vm).
            Examples: kumo get nodes   kumo get wl -p shop -o wide   kumo get replicas -p shop -l app=web --watch
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var projectOptions: ProjectOptions

    @Argument(help: "Kind, e.g. nodes, workloads, replicas.")
    var kind: String

    @Argument(help: "Name of one object.")
    var name: String?

    @Option(name: .short, help: "Output: table, wide, json, yaml.")
    var output: OutputFormat = .table

    @Option(name: [.short, .customLong("selector")], help: "Label selector, e.g. app=web,tier!=db.")
    var selector: String?

    @Option(help: "Field selector, e.g. spec.nodeName=n1.")
    var fieldSelector: String?

    @Flag(name: [.short, .customLong("watch")], help: "After listing, keep printing changes.")
    var watch = false

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let api = KumoClient(config: config)
            let k = try parseKind(kind)
            let project = try projectOptions.resolve(k, config: config)
            if let name {
                let object = try await api.send(.GET, APIPaths.object(k, project: project, name: name)).json()
                print([object], k, withProject: false)
                return
            }
            var query: [(String, String)] = []
            if let selector { query.append(("labelSelector", selector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            let withProject = project == nil && k.scope != .cluster
            let list = try await api.send(.GET, APIPaths.collection(k, project: project), query: query).json()
            let items = list["items"]?.arrayValue ?? []
            if items.isEmpty && !watch && (output == .table || output == .wide) {
                printErr("No \(k.plural) found" + (project.map { " in project \($0)." } ?? "."))
            } else if output == .json && !watch {
                printOut(JSONPretty.format(list))
            } else {
                print(items, k, withProject: withProject)
            }
            guard watch else { return }
            let revision = list["metadata"]?["revision"]?.stringValue ?? "0"
            let events = try await api.watch(APIPaths.collection(k, project: project), query: query + [("since", revision)])
            do {
                for try await event in events {
                    switch output {
                    case .table, .wide:
                        var row = ObjectColumns.row(event.object, k, wide: output == .wide, withProject: withProject)
                        if event.type == "DELETED" { row[withProject ? 1 : 0] += " (deleted)" }
                        printOut(row.joined(separator: "   "))
                    case .json: printOut(JSONValue.object(["type": .string(event.type), "object": event.object]).jsonString)
                    case .yaml: printOut("---\n" + YAMLCodec.yaml(["type": .string(event.type), "object": event.object]))
                    }
                }
            } catch let e as KumoError {
                throw e
            } catch {
                throw KumoError(.unavailable, "watch ended: \(error)")
            }
        }
    }

    func print(_ items: [JSONValue], _ k: Kind, withProject: Bool) {
        switch output {
        case .table, .wide:
            var t = Table(headers: ObjectColumns.headers(k, wide: output == .wide, withProject: withProject))
            t.rows = items.map { ObjectColumns.row($0, k, wide: output == .wide, withProject: withProject) }
            printOut(t.render())
        case .json:
            printOut(items.count == 1 ? JSONPretty.format(items[0]) : JSONPretty.format(.array(items)))
        case .yaml:
            printOut(items.map { YAMLCodec.yaml($0) }.joined(separator: "---\n"))
        }
    }
}
