import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "List objects of a kind, or show some.",
        usage: """
            kumo get KIND [NAME...] [options]
            kumo get KIND/NAME... [options]
            """,
        discussion: """
            Kinds: \(ObjectArgument.kindNames).
            Examples:
              kumo get nodes
              kumo get wl -p shop -o wide
              kumo get replicas -A                   (all projects; -a works too)
              kumo get service/web -p shop           (or: kumo get svc web -p shop)
              kumo get node/n1 service/web -p shop   (several objects, a table per kind)
              kumo get replicas -p shop -l app=web --watch
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var projectOptions: ProjectOptions

    @Argument(help: "A kind (nodes, workloads, ...) and optionally names, or objects as KIND/NAME.")
    var objects: [String]

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
            let selection = try ObjectArgument.parse(objects)  // before the config: bad input is said first
            let config = try client.config()
            let api = KumoClient(config: config)
            switch selection {
            case .all(let k): try await list(k, api: api, config: config)
            case .objects(let refs): try await show(refs, api: api, config: config)
            }
        }
    }

    /// `kumo get svc web api`, `kumo get node/n1 service/web`: each object, a table per kind as kubectl prints them.
    /// With several, one that fails is reported and the others are still shown (exit 1), as delete does.
    func show(_ refs: [ObjectArgument], api: KumoClient, config: ClientConfig) async throws {
        var groups: [(kind: Kind, items: [JSONValue])] = []
        var failed = false
        for ref in refs {
            do throws(KumoError) {
                let project = try projectOptions.resolve(ref.kind, config: config)
                if project == nil && ref.kind.scope == .project {
                    throw KumoError(
                        .invalid, "\(ref) is in one project: pass -p PROJECT (-A lists a kind across projects)",
                        field: "project")
                }
                let object = try await api.send(.GET, APIPaths.object(ref.kind, project: project, name: ref.name)).json()
                if let i = groups.firstIndex(where: { $0.kind == ref.kind }) {
                    groups[i].items.append(object)
                } else {
                    groups.append((ref.kind, [object]))
                }
            } catch {
                if refs.count == 1 { throw error }
                printErr("error: \(ref): \(error.message)")
                failed = true
            }
        }
        switch output {
        case .table, .wide:
            let health = groups.contains { $0.kind == .node } ? await DoctorTable.nodeHealth(api) : nil
            if !groups.isEmpty {
                printOut(groups.map { table($0.items, $0.kind, withProject: false, health: $0.kind == .node ? health : nil) }.joined(separator: "\n\n"))
            }
        case .json, .yaml:
            let all = groups.flatMap(\.items)
            if !all.isEmpty { printOut(documents(all)) }
        }
        if failed { throw ExitCode(1) }
    }

    /// `kumo get replicas [-A] [-l …] [--watch]`.
    func list(_ k: Kind, api: KumoClient, config: ClientConfig) async throws {
        let project = try projectOptions.resolve(k, config: config)
        var query: [(String, String)] = []
        if let selector { query.append(("labelSelector", selector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let withProject = project == nil && k.scope != .cluster
        let list = try await api.send(.GET, APIPaths.collection(k, project: project), query: query).json()
        let items = list["items"]?.arrayValue ?? []
        if items.isEmpty && !watch && (output == .table || output == .wide) {
            printErr("No \(k.plural) found" + (project.map { " in project \($0)." } ?? "."))
        } else if output == .json && !watch {
            printOut(list.prettyString)
        } else if k == .node && !watch && (output == .table || output == .wide) {
            printOut(table(items, k, withProject: withProject, health: await DoctorTable.nodeHealth(api)))
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

    func print(_ items: [JSONValue], _ k: Kind, withProject: Bool) {
        switch output {
        case .table, .wide: printOut(table(items, k, withProject: withProject))
        case .json, .yaml: printOut(documents(items))
        }
    }

    /// `health`: node name → the doctor's findings about it (a HEALTH column; nil when the doctor cannot be read).
    func table(_ items: [JSONValue], _ k: Kind, withProject: Bool, health: [String: String]? = nil) -> String {
        var t = Table(headers: ObjectColumns.headers(k, wide: output == .wide, withProject: withProject) + (health == nil ? [] : ["HEALTH"]))
        t.rows = items.map { o in
            ObjectColumns.row(o, k, wide: output == .wide, withProject: withProject)
                + (health.map { [$0[o["metadata"]?["name"]?.stringValue ?? ""] ?? "ok"] } ?? [])
        }
        return t.render()
    }

    /// `-o json`: one object as itself, several as an array; `-o yaml`: documents separated by `---`.
    func documents(_ items: [JSONValue]) -> String {
        output == .yaml
            ? items.map { YAMLCodec.yaml($0) }.joined(separator: "---\n")
            : items.count == 1 ? items[0].prettyString : JSONValue.array(items).prettyString
    }
}
