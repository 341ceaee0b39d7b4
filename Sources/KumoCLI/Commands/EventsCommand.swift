import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "What the components did: events, oldest first.",
        discussion: "Examples: kumo events   kumo events -A   kumo events --for node/n1   kumo events -p shop --for workload/web")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Only events in this project.")
    var project: String?

    // -A as in `kumo get`: without it the configuration's project applies, so it is the way to see every project.
    @Flag(name: [.customShort("A"), .customShort("a"), .customLong("all-projects")], help: "Events of all projects (admin).")
    var allProjects = false

    @Option(name: .customLong("for"), help: "Only events regarding KIND/NAME, or COMPONENT/NAME for the doctor's findings about the whole cloud (component/store).")
    var regarding: String?

    @Option(name: .short, help: "Output: table, json, yaml.")
    var output: OutputFormat = .table

    func validate() throws {
        if allProjects && project != nil { throw ValidationError("pass -p PROJECT or -A, not both") }
    }

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let api = KumoClient(config: config)
            var target: (String, String, String?)? = nil
            if let regarding {
                if let component = Self.component(regarding) {
                    target = (ObjectReference.componentKind, component, nil)
                } else {
                    let ref = try ObjectArgument.slashed(regarding)
                    let (k, n) = (ref.kind, ref.name)
                    target = (k.rawValue, n, k.scope == .cluster ? nil : (project ?? config.project))
                }
            }
            // a cluster-scoped target (a node, a component) has cluster-scoped events: not in any project's list
            let clusterTarget = target != nil && target?.2 == nil
            let scope = allProjects || (clusterTarget && project == nil) ? nil : project ?? target?.2 ?? config.project
            let events = try await Self.fetch(api, regarding: target, project: scope)
            switch output {
            case .json: printOut(JSONValue.array(events).prettyString)
            case .yaml: printOut(events.map { YAMLCodec.yaml($0) }.joined(separator: "---\n"))
            case .table, .wide:
                if events.isEmpty { printErr("No events found."); return }
                var t = Table(headers: ObjectColumns.headers(.event, wide: false, withProject: false))
                t.rows = events.map { ObjectColumns.row($0, .event, wide: false, withProject: false) }
                printOut(t.render())
            }
        }
    }

    /// `component/store`, `component/controller/workloads` → the component's name (the doctor's events about the
    /// whole cloud regard the component responsible); anything else is KIND/NAME.
    static func component(_ s: String) -> String? {
        for prefix in ["component/", "components/"] where s.lowercased().hasPrefix(prefix) {
            let name = String(s.dropFirst(prefix.count))
            return name.isEmpty ? nil : name
        }
        return nil
    }

    /// Events (oldest first), optionally only those regarding one object.
    static func fetch(_ api: KumoClient, regarding: (String, String, String?)?, project: String?) async throws(KumoError)
        -> [JSONValue]
    {
        var query: [(String, String)] = []
        if let (k, n, _) = regarding {
            query.append(("fieldSelector", "spec.regarding.kind=\(k),spec.regarding.name=\(n)"))
        }
        let path = project.map { APIPaths.collection(.event, project: $0) } ?? "/api/v1/events"
        let list = try await api.send(.GET, path, query: query).json()
        return (list["items"]?.arrayValue ?? []).sorted {
            ($0["spec"]?["lastTime"]?.stringValue ?? "") < ($1["spec"]?["lastTime"]?.stringValue ?? "")
        }
    }
}
