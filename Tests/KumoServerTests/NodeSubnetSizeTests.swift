import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoAgent
@testable import KumoServer
import Logging
import Synchronization

@Suite("IPAM: node subnet size, exhaustion, release")
struct NodeSubnetSizeTests {
    @Test("a configurable node subnet size; when the cluster CIDR is used up a node registers without one, with an event, and is not scheduled onto")
    func exhaustion() async throws {
        try await withServer(configure: {
            $0.clusterCIDR = "10.250.0.0/25"
            $0.nodeSubnetPrefixLength = 26
        }) { s in
            let a = try await s.admin.create(Sample.node("a"), kind: .node)
            let b = try await s.admin.create(Sample.node("b"), kind: .node)
            #expect(a["spec"]?["podCIDR"] == "10.250.0.0/26")
            #expect(b["spec"]?["podCIDR"] == "10.250.0.64/26")
            #expect(a["metadata"]?["managedFields"]?["spec.podCIDR"] == "ipam")
            // the third finds no subnet: registered anyway, without one, and an event says why
            let c = try await s.admin.create(Sample.node("c"), kind: .node)
            #expect(c["spec"]?["podCIDR"] == nil)
            let events = try await s.admin.send(.GET, "/api/v1/events").json()["items"]?.arrayValue ?? []
            let exhausted = events.first { $0["spec"]?["reason"] == "SubnetExhausted" }
            #expect(exhausted?["spec"]?["regarding"]?["name"] == "c")
            #expect(exhausted?["spec"]?["message"]?.stringValue?.contains("--cluster-cidr") == true)
            // nobody but ipam may change a node's subnet
            let taken = await kumoError {
                _ = try await s.admin.mergePatch(.node, "a", ["spec": ["podCIDR": "10.250.0.64/26"]])
            }
            #expect(taken?.code == .ownershipConflict)
            // deleting a node frees its subnet: the node that waited for one gets it at once (owned by ipam)
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/a")
            let served = try await s.admin.get(.node, "c")
            #expect(served["spec"]?["podCIDR"] == "10.250.0.0/26")
            #expect(served["metadata"]?["managedFields"]?["spec.podCIDR"] == "ipam")
            let assigned = try await s.admin.send(.GET, "/api/v1/events").json()["items"]?.arrayValue ?? []
            #expect(assigned.contains { $0["spec"]?["reason"] == "SubnetAssigned" && $0["spec"]?["regarding"]?["name"] == "c" })
            // so the next new node waits in its turn; deleting it frees nothing (it held nothing)
            let d = try await s.admin.create(Sample.node("d"), kind: .node)
            #expect(d["spec"]?["podCIDR"] == nil)
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/b")
            #expect(try await s.admin.get(.node, "d")["spec"]?["podCIDR"] == "10.250.0.64/26")
        }
    }

    @Test("a subnet change by force moves its record: no subnet is held twice, a /32 is refused")
    func subnetChange() async throws {
        try await withServer(configure: {
            $0.clusterCIDR = "10.250.0.0/24"
            $0.nodeSubnetPrefixLength = 26
        }) { s in
            _ = try await s.admin.create(Sample.node("a"), kind: .node)
            _ = try await s.admin.create(Sample.node("b"), kind: .node)
            let taken = await kumoError {
                _ = try await s.admin.mergePatch(.node, "a", ["spec": ["podCIDR": "10.250.0.64/26"]], query: [("force", "true")])
            }
            #expect(taken?.code == .conflict)
            #expect(taken?.message.contains("node b") == true)
            let tiny = await kumoError {
                _ = try await s.admin.mergePatch(.node, "a", ["spec": ["podCIDR": "10.250.0.0/32"]], query: [("force", "true")])
            }
            #expect(tiny?.code == .invalid)
            _ = try await s.admin.mergePatch(.node, "a", ["spec": ["podCIDR": "10.250.0.128/26"]], query: [("force", "true")])
            // a's old subnet is free: a new node gets it
            let c = try await s.admin.create(Sample.node("c"), kind: .node)
            #expect(c["spec"]?["podCIDR"] == "10.250.0.0/26")
        }
    }

    @Test("an agent whose node has no subnet says so (not 'server unreachable') and takes a freed one without a restart")
    func agentWaitsForASubnet() async throws {
        try await withServer(configure: {
            $0.clusterCIDR = "10.250.0.0/26"
            $0.nodeSubnetPrefixLength = 26
        }) { s in
            _ = try await s.admin.create(Sample.node("a"), kind: .node)
            let join = try await NodeTokenTests().joinToken(s)
            let n2 = try await NodeTokenTests().nodeToken(s, join: join, node: "n2")
            var config = AgentConfiguration(server: s.url, nodeName: "n2", dataDir: s.dir + "-agent")
            config.labels = [:]
            let registration = NodeRegistration(api: AgentAPI(client: n2, node: "n2"), config: config, logger: Logger(label: "test.agent"))
            let first = await kumoError { _ = try await registration.register(agentURL: "https://192.0.2.9:7481", addresses: ["192.0.2.9"]) }
            #expect(first?.field == "spec.podCIDR")
            #expect(first?.message.contains("cluster CIDR is used up") == true)
            let waits = Mutex<[String]>([])
            let agent = Task {
                try await registration.registerWaiting(agentURL: "https://192.0.2.9:7481", addresses: ["192.0.2.9"], maxDelay: .milliseconds(200)) { why in
                    waits.withLock { $0.append(why) }
                }
            }
            try await Task.sleep(for: .milliseconds(600))
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/a")
            let subnet = try await agent.value
            #expect(subnet.description == "10.250.0.0/26")
            #expect(waits.withLock { $0 }.allSatisfy { $0.contains("no pod subnet") })
            #expect(!waits.withLock { $0 }.isEmpty)
        }
    }

    @Test("a node publishing an overlay address another node uses is refused, with an event")
    func overlayAddressCollision() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("a"), kind: .node)
            _ = try await s.admin.create(Sample.node("b"), kind: .node)
            _ = try await s.admin.mergePatch(.node, "a", ["status": ["overlay": ["publicIP": "192.0.2.50", "vtepMAC": "02:00:00:00:00:0a"]]])
            let clash = await kumoError {
                _ = try await s.admin.mergePatch(.node, "b", ["status": ["overlay": ["publicIP": "192.0.2.50", "vtepMAC": "02:00:00:00:00:0b"]]])
            }
            #expect(clash?.code == .conflict)
            #expect(clash?.field == "status.overlay.publicIP")
            #expect(clash?.message.contains("node a") == true)
            let events = try await s.admin.send(.GET, "/api/v1/events").json()["items"]?.arrayValue ?? []
            #expect(events.contains { $0["spec"]?["reason"] == "OverlayAddressConflict" && $0["spec"]?["regarding"]?["name"] == "b" })
            // a different address is fine; re-publishing its own is fine
            _ = try await s.admin.mergePatch(.node, "b", ["status": ["overlay": ["publicIP": "192.0.2.51", "vtepMAC": "02:00:00:00:00:0b"]]])
            _ = try await s.admin.mergePatch(.node, "a", ["status": ["overlay": ["publicIP": "192.0.2.50", "vtepMAC": "02:00:00:00:00:0c"]]])
        }
    }

    @Test("a node subnet size that does not fit the cluster CIDR is refused at start")
    func badSize() async throws {
        await #expect(throws: KumoError.self) {
            try await withServer(configure: {
                $0.clusterCIDR = "10.250.0.0/24"
                $0.nodeSubnetPrefixLength = 20
            }) { _ in }
        }
    }
}
