import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Cordon a node and delete its replicas; their workloads replace them on other nodes.",
        usage: "kumo drain NAME [options]\nkumo drain node/NAME [options]")
    @OptionGroup var client: ClientOptions
    @Argument(help: ArgumentHelp("Node: NAME, node/NAME or node NAME.", valueName: "node")) var target: [String]

    func run() async throws {
        try await runReporting {
            let node = try ObjectArgument.name(target, of: .node, command: "drain")
            let api = try client.client()
            try await setUnschedulable(api, node: node, true)
            let list = try await api.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=\(node)")]).json()
            var count = 0
            for r in list["items"]?.arrayValue ?? [] {
                guard let p = r["metadata"]?["project"]?.stringValue, let n = r["metadata"]?["name"]?.stringValue else { continue }
                try await api.send(.DELETE, APIPaths.object(.replica, project: p, name: n))
                count += 1
            }
            printOut("node/\(node) cordoned and drained (\(count) replicas deleted)")
        }
    }
}
