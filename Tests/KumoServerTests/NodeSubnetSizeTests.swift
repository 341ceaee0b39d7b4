import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

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
            // deleting a node frees its subnet for the next one
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/a")
            let d = try await s.admin.create(Sample.node("d"), kind: .node)
            #expect(d["spec"]?["podCIDR"] == "10.250.0.0/26")
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
