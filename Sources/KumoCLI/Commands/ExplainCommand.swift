import ArgumentParser
import Foundation
import KumoAPI
import KumoDoctor
import KumoModel

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Who is responsible for what: each component's job, what it needs, what breaks if it dies, its status now.",
        discussion: "Without a component: the map of all of them. Components: \(Component.allCases.map(\.rawValue).joined(separator: ", ")).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "One component, e.g. dnsmasq, overlay, controller/endpoints.") var component: String?
    @Option(name: .shortAndLong, help: "table or json.") var output: String = "table"

    func run() async throws {
        try await runReporting {
            if let component, Component(name: component) == nil {
                throw KumoError(
                    .notFound, "unknown component \"\(component)\"; valid components: \(Component.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "component")
            }
            let answer = try await client.client().send(.GET, APIRoute.explain.rawValue, query: component.map { [("component", $0)] } ?? [])
            if output == "json" {
                printOut(try answer.json().prettyString)
                return
            }
            let list = try answer.decode(ComponentStatusList.self)
            if component == nil {
                var t = Table(headers: ["COMPONENT", "RUNS IN", "RESPONSIBILITY", "DEPENDS ON", "FAILING"])
                t.rows = list.items.map {
                    [
                        $0.profile.component.rawValue, $0.profile.runsIn, $0.profile.responsibility,
                        $0.profile.dependsOn.map(\.rawValue).joined(separator: ","), $0.failing.isEmpty ? "-" : "\($0.failing.count)",
                    ]
                }
                printOut(t.render() + "\nkumo explain COMPONENT for what breaks if it dies, where its state is, and its status now.")
                return
            }
            for s in list.items {
                let p = s.profile
                var out = "\(p.component.rawValue) (\(p.runsIn))\n  \(p.responsibility)\n"
                out += "depends on:   \(p.dependsOn.isEmpty ? "nothing" : p.dependsOn.map(\.rawValue).joined(separator: ", "))\n"
                out += "needed by:    \(s.dependents.isEmpty ? "nothing" : s.dependents.map(\.rawValue).joined(separator: ", "))\n"
                out += "if it dies:   \(p.ifItDies)\nkeeps going:  \(p.keepsWorking)\n"
                out += "state:        \(p.state)\nlogs:         \(p.logs)\nmetrics:      \(p.metrics)\n"
                out += "now:\n" + (s.live.isEmpty ? "  (no live figures)\n" : s.live.map { "  \($0)\n" }.joined())
                out += "failing:      " + (s.failing.isEmpty ? "nothing\n" : "\n" + s.failing.map { "  \($0)\n" }.joined())
                printOut(out)
            }
        }
    }
}
