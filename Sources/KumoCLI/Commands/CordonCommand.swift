import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct CordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon", abstract: "Stop placing new replicas on a node (--undo to allow again).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Node name.") var node: String
    @Flag(help: "Uncordon.") var undo = false

    func run() async throws {
        try await runReporting {
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
