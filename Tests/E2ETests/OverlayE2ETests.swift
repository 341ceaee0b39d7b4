import Foundation
import KumoAPI
import KumoModel
import KumoTestbed
import Testing

/// The overlay for real: agents on netns hosts program VXLAN peers; pods on different nodes reach each other;
/// drift is repaired; a node's overlay data removed from the API is restored and its peers keep their routes.
@Suite("Overlay across netns hosts", .serialized, .enabled(if: LocalCloud.available, "needs root, runc and busybox-static"))
struct OverlayE2ETests {
    func node(_ c: LocalCloud, _ i: Int) async throws -> JSONValue { try await c.admin.get(.node, c.nodeName(i)) }

    /// The pod network namespace of a replica, from its agent's record.
    func podNetns(_ c: LocalCloud, host i: Int, uid: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: c.agentDir(i) + "/replicas/\(uid).json"))
        return try JSONValue(parsing: Array(data))["netns"]?.stringValue ?? ""
    }

    @Test("pods on different nodes reach each other; a deleted FDB entry is healed; overlay data removed from the API comes back and peers keep their routes")
    func overlay() async throws {
        try await withCloud(agents: 2) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            let yaml = c.dir + "/pods.yaml"
            var docs = ["apiVersion: kumo/v1\nkind: Project\nmetadata: {name: net}\n"]
            for i in 1...2 {
                docs.append(
                    """
                    apiVersion: kumo/v1
                    kind: Replica
                    metadata: {name: p\(i), project: net}
                    spec:
                      image: busybox:latest
                      command: ["sleep", "3600"]
                      nodeName: \(c.nodeName(i))
                      terminationGracePeriodSeconds: 1
                    """)
            }
            try Data(docs.joined(separator: "\n---\n").utf8).write(to: URL(fileURLWithPath: yaml))
            try c.kumo(["apply", "-f", yaml])

            // every node publishes its VTEP; both pods run
            try await eventually("overlay data published", timeout: .seconds(30)) {
                let n1 = try await node(c, 1), n2 = try await node(c, 2)
                return n1["status"]?["overlay"]?["vtepMAC"] != nil && n2["status"]?["overlay"]?["publicIP"] == .string(c.hostIP(2))
            }
            #expect(try await node(c, 1)["metadata"]?["managedFields"]?["status.overlay"] == .string("node/\(c.nodeName(1))"))
            var pods: [JSONValue] = []
            try await eventually("both pods running", timeout: .seconds(60)) {
                pods = try await c.admin.send(.GET, "/api/v1/projects/net/replicas").json()["items"]?.arrayValue ?? []
                return pods.count == 2 && pods.allSatisfy { $0["status"]?["phase"] == "Running" }
            }
            let p1 = try #require(pods.first { $0["metadata"]?["name"] == "p1" })
            let p2 = try #require(pods.first { $0["metadata"]?["name"] == "p2" })
            let ip2 = try #require(p2["spec"]?["network"]?["ip"]?.stringValue)
            let ns1 = try podNetns(c, host: 1, uid: try #require(p1["metadata"]?["uid"]?.stringValue))

            func pingFromPod1() throws -> Bool {
                for _ in 0..<3 {
                    if try LocalCloud.sh(["ip", "netns", "exec", ns1, "ping", "-c1", "-W1", ip2], check: false).status == 0 { return true }
                }
                return false
            }
            try await eventually("pod on node 1 pings pod on node 2", timeout: .seconds(30)) { try pingFromPod1() }

            // the three entries for the peer, seen in node 1's kernel and in its state
            let mac2 = try #require(try await node(c, 2)["status"]?["overlay"]?["vtepMAC"]?.stringValue)
            let fdb = try c.inHost(1, ["bridge", "fdb", "show", "dev", "kumo.1"]).out
            #expect(fdb.contains(mac2) && fdb.contains(c.hostIP(2)) && fdb.contains("permanent"))
            let network = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(c.nodeName(1))", "--network"]).utf8))
            #expect(network["peers"]?.arrayValue?.first?["expectedEntries"]?.arrayValue?.count == 3)

            // drift: delete the FDB entry by hand → healed within the resync interval, an event names it
            try c.inHost(1, ["bridge", "fdb", "del", mac2, "dev", "kumo.1", "dst", c.hostIP(2), "self"], check: true)
            try await eventually("FDB entry healed", timeout: .seconds(15)) {
                try c.inHost(1, ["bridge", "fdb", "show", "dev", "kumo.1"]).out.contains(mac2)
            }
            #expect(try pingFromPod1())
            try await eventually("drift event") { try c.kumo(["events"]).contains("OverlayDriftRepaired") }

            // the incident: removing node 2's overlay data is refused unless forced …
            let patch: JSONValue = ["status": ["overlay": .null]]
            let conflict = await #expect(throws: KumoError.self) {
                _ = try await c.admin.send(
                    .PATCH, APIPaths.object(.node, project: nil, name: c.nodeName(2)), body: patch.serialized(),
                    contentType: mergePatchContentType)
            }
            #expect(conflict?.code == .ownershipConflict)
            // … forced, the owning agent publishes it again, the history shows who removed it, peers keep routes
            _ = try await c.admin.send(
                .PATCH, APIPaths.object(.node, project: nil, name: c.nodeName(2)), query: [("force", "true")],
                body: patch.serialized(), contentType: mergePatchContentType)
            try await eventually("overlay data restored by its agent", timeout: .seconds(15)) {
                try await node(c, 2)["status"]?["overlay"]?["vtepMAC"] == .string(mac2)
            }
            let history = try c.kumo(["history", "node/\(c.nodeName(2))"])
            #expect(history.contains("admin") && history.contains("/status/overlay"), "\(history)")
            #expect(try pingFromPod1(), "peers kept their entries")
            try await eventually("OverlayDataMissing and OverlayDataRestored events") {
                let events = try c.kumo(["events"])
                return events.contains("OverlayDataMissing") && events.contains("OverlayDataRestored")
            }
        }
    }
}
