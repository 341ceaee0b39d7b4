import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct CordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon", abstract: "Stop placing new replicas on a node (--undo to allow again).",
        usage: "kumo cordon NAME [--undo] [options]\nkumo cordon node/NAME [--undo] [options]")
    @OptionGroup var client: ClientOptions
    @Argument(help: ArgumentHelp("Node: NAME, node/NAME or node NAME.", valueName: "node")) var target: [String]
    @Flag(help: "Uncordon.") var undo = false

    func run() async throws {
        try await runReporting {
            let node = try ObjectArgument.name(target, of: .node, command: "cordon")
            try await setUnschedulable(try client.client(), node: node, !undo)
            printOut("node/\(node) \(undo ? "uncordoned" : "cordoned")")
        }
    }
}

/// Cordons (`true`) or uncordons a node.
func setUnschedulable(_ api: KumoClient, node: String, _ value: Bool) async throws(KumoError) {
    try await api.send(
        .PATCH, APIPaths.object(.node, project: nil, name: node),
        body: JSONValue.object(["spec": ["unschedulable": .bool(value)]]).serialized(), contentType: mergePatchContentType)
}
