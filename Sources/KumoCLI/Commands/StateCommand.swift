import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "A component's internal state as JSON (admin).",
        discussion: "Components: server (store, watches, controllers, scheduler), agent/NODE (runners, images, heartbeat; through the server), lb/NODE (the node's HAProxy: config state, last reload, per backend and server sessions, queue, request rate, timings, errors, findings), dhcp/NODE (the node's dnsmasq: hosts entries, leases, DHCP message counters).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "server, agent/NODE, lb/NODE or dhcp/NODE.") var component: String = "server"
    @Flag(help: "agent/NODE only: just the network part (overlay peers: expected entries, last sync, last repair).")
    var network = false

    func run() async throws {
        try await runReporting {
            let path: String
            if component == "server" {
                path = "/debug/state"
            } else if component.hasPrefix("agent/"), component.count > 6 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(6))))/state"
            } else if component.hasPrefix("lb/"), component.count > 3 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(3))))/state"
            } else if component.hasPrefix("dhcp/"), component.count > 5 {
                path = "/api/v1/nodes/\(APIPaths.encode(String(component.dropFirst(5))))/state"
            } else {
                throw KumoError(.notFound, "unknown component \"\(component)\": expected server, agent/NODE, lb/NODE or dhcp/NODE")
            }
            var state = try await client.client().send(.GET, path).json()
            if component.hasPrefix("lb/") { state = state["loadBalancer"] ?? .null }
            if component.hasPrefix("dhcp/") { state = state["dhcp"] ?? .null }
            if network {
                guard component != "server" else { throw KumoError(.invalid, "--network applies to agent/NODE", field: "network") }
                state = state["network"] ?? .null
            }
            printOut(state.prettyString)
        }
    }
}
