import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// The overlay for real: agents on netns hosts program VXLAN peers; pods on different nodes reach each other over
/// VXLAN; drift is repaired; a node's overlay data removed from the API is restored and its peers keep their
/// routes; nodes join and leave.
@Suite("Overlay across netns hosts", .serialized, .enabled(if: LocalCloud.available, "needs root, runc and busybox-static"))
struct OverlayE2ETests {
    func node(_ c: LocalCloud, _ i: Int) async throws -> JSONValue { try await c.admin.get(.node, c.nodeName(i)) }

    /// The pod network namespace of a replica, from its agent's record.
    func podNetns(_ c: LocalCloud, host i: Int, uid: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: c.agentDir(i) + "/replicas/\(uid).json"))
        return try JSONValue(parsing: Array(data))["netns"]?.stringValue ?? ""
    }

    func pod(_ c: LocalCloud, on i: Int) -> String {
        """
        apiVersion: kumo/v1
        kind: Replica
        metadata: {name: p\(i), project: net}
        spec:
          image: busybox:latest
          command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
          nodeName: \(c.nodeName(i))
          terminationGracePeriodSeconds: 1
        """
    }

    struct Pod {
        var ip: String
        var netns: String
    }

    func runningPods(_ c: LocalCloud, count: Int) async throws -> [Int: Pod] {
        var pods: [Int: Pod] = [:]
        try await eventually("\(count) pods running", timeout: .seconds(60)) {
            let items = try await c.admin.send(.GET, "/api/v1/projects/net/replicas").json()["items"]?.arrayValue ?? []
            guard items.filter({ $0["status"]?["phase"] == "Running" }).count == count else { return false }
            for r in items {
                guard let name = r["metadata"]?["name"]?.stringValue, let i = Int(name.dropFirst()),
                    let ip = r["spec"]?["network"]?["ip"]?.stringValue, let uid = r["metadata"]?["uid"]?.stringValue
                else { return false }
                pods[i] = Pod(ip: ip, netns: try podNetns(c, host: i, uid: uid))
            }
            return true
        }
        return pods
    }

    func ping(_ from: Pod, _ to: Pod) throws -> Bool {
        for _ in 0..<3 where try LocalCloud.sh(["ip", "netns", "exec", from.netns, "ping", "-c1", "-W1", to.ip], check: false).status == 0 {
            return true
        }
        return false
    }

    func http(_ from: Pod, _ to: Pod) throws -> Bool {
        try LocalCloud.sh(
            ["ip", "netns", "exec", from.netns, "curl", "-sf", "--max-time", "3", "http://\(to.ip):8080/"], check: false
        ).out.contains("Kumo")
    }

    func vxlanTxPackets(_ c: LocalCloud, _ i: Int) throws -> Double {
        let out = try c.inHost(i, ["ip", "-s", "-j", "link", "show", "dev", "kumo.1"], check: true).out
        return try JSONValue(parsing: Array(out.utf8)).arrayValue?.first?["stats64"]?["tx"]?["packets"]?.numberValue ?? 0
    }

    @Test("three hosts reach each other's pods (ping, TCP) over VXLAN; a fourth joins and leaves; kumo.1 re-created keeps its MAC")
    func reachabilityJoinLeave() async throws {
        try await withCloud(agents: 4, starting: 3) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            var docs = ["apiVersion: kumo/v1\nkind: Project\nmetadata: {name: net}\n"]
            for i in 1...3 { docs.append(pod(c, on: i)) }
            try c.apply(docs.joined(separator: "\n---\n"))
            var pods = try await runningPods(c, count: 3)
            let before = try vxlanTxPackets(c, 1)
            try await eventually("every pod reaches the other two", timeout: .seconds(30)) {
                for a in 1...3 { for b in 1...3 where a != b { if try !ping(pods[a]!, pods[b]!) { return false } } }
                return true
            }
            for a in 1...3 { for b in 1...3 where a != b { #expect(try http(pods[a]!, pods[b]!), "TCP \(a) → \(b)") } }
            #expect(try vxlanTxPackets(c, 1) > before, "the traffic left host 1 through kumo.1 (VXLAN)")
            let wide = try c.kumo(["get", "nodes", "-o", "wide"])
            #expect(wide.contains(c.hostIP(1)) && wide.contains("vxlan"), "\(wide)")

            // a fourth node joins: every other node programs it, and its pod is reachable from all
            let joined = ContinuousClock.now
            try c.startAgent(4)
            try await c.waitForReadyNodes(4)
            var mac4 = ""
            try await eventually("node 4 publishes its VTEP") {
                mac4 = try await node(c, 4)["status"]?["overlay"]?["vtepMAC"]?.stringValue ?? ""
                return !mac4.isEmpty
            }
            try await eventually("every peer programs node 4", timeout: .seconds(20)) {
                try (1...3).allSatisfy { try c.inHost($0, ["bridge", "fdb", "show", "dev", "kumo.1"]).out.contains(mac4) }
            }
            print("node 4 programmed on every peer \(ContinuousClock.now - joined) after its agent started")
            try c.apply(pod(c, on: 4))
            pods = try await runningPods(c, count: 4)
            try await eventually("pod 4 reachable from all", timeout: .seconds(30)) {
                try (1...3).allSatisfy { try ping(pods[$0]!, pods[4]!) && ping(pods[4]!, pods[$0]!) }
            }

            // kumo.1 re-created by hand: same MAC, entries back, peers unaffected
            let mac1 = try #require(try await node(c, 1)["status"]?["overlay"]?["vtepMAC"]?.stringValue)
            try c.inHost(1, ["ip", "link", "del", "kumo.1"], check: true)
            try await eventually("kumo.1 back with its MAC and entries", timeout: .seconds(15)) {
                let link = try c.inHost(1, ["ip", "-j", "link", "show", "dev", "kumo.1"]).out
                let reachable = try ping(pods[1]!, pods[2]!)
                return link.contains(mac1) && reachable
            }
            #expect(try await node(c, 1)["status"]?["overlay"]?["vtepMAC"] == .string(mac1))

            // node 4 leaves: deleted from the API, its entries are gone everywhere
            c.stopAgent(4)
            try await c.admin.send(.DELETE, "/api/v1/projects/net/replicas/p4", query: [("force", "true")])
            try await c.admin.send(.DELETE, "/api/v1/nodes/\(c.nodeName(4))")
            try await eventually("node 4's entries gone everywhere", timeout: .seconds(20)) {
                try (1...3).allSatisfy { try !c.inHost($0, ["bridge", "fdb", "show", "dev", "kumo.1"]).out.contains(mac4) }
            }
            #expect(try ping(pods[1]!, pods[3]!))
        }
    }

    @Test("hand-deleted route, neighbour and FDB entry are repaired with events; overlay data removed from the API is restored and peers keep their routes")
    func driftAndIncident() async throws {
        try await withCloud(agents: 2) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            let docs = ["apiVersion: kumo/v1\nkind: Project\nmetadata: {name: net}\n", pod(c, on: 1), pod(c, on: 2)]
            try c.apply(docs.joined(separator: "\n---\n"))
            let pods = try await runningPods(c, count: 2)
            try await eventually("pod 1 pings pod 2", timeout: .seconds(30)) { try ping(pods[1]!, pods[2]!) }
            #expect(try await node(c, 1)["metadata"]?["managedFields"]?["status.overlay"] == .string("node/\(c.nodeName(1))"))

            let n2 = try await node(c, 2)
            let mac2 = try #require(n2["status"]?["overlay"]?["vtepMAC"]?.stringValue)
            let cidr2 = try #require(n2["spec"]?["podCIDR"]?.stringValue)
            let gw2 = String(cidr2.split(separator: "/")[0])
            let network = try JSONValue(parsing: Array(try c.kumo(["state", "agent/\(c.nodeName(1))", "--network"]).utf8))
            let peer = network["peers"]?.arrayValue?.first
            #expect(peer?["expectedEntries"]?.arrayValue?.count == 3)
            #expect(peer?["programmedEntries"] == peer?["expectedEntries"])
            #expect(network["lastSync"]?.stringValue != nil)

            // drift: delete the route, the neighbour and the FDB entry by hand → each repaired, events say so
            try c.inHost(1, ["ip", "route", "del", cidr2, "dev", "kumo.1"], check: true)
            try c.inHost(1, ["ip", "neigh", "del", gw2, "dev", "kumo.1"], check: true)
            try c.inHost(1, ["bridge", "fdb", "del", mac2, "dev", "kumo.1", "dst", c.hostIP(2), "self"], check: true)
            try await eventually("all three repaired", timeout: .seconds(15)) {
                let routes = try c.inHost(1, ["ip", "route", "show", "dev", "kumo.1"]).out
                let neigh = try c.inHost(1, ["ip", "neigh", "show", "dev", "kumo.1"]).out
                let fdb = try c.inHost(1, ["bridge", "fdb", "show", "dev", "kumo.1"]).out
                return routes.contains(cidr2) && neigh.contains(mac2) && fdb.contains(mac2)
            }
            #expect(try ping(pods[1]!, pods[2]!))
            try await eventually("drift events for each kind") {
                let events = try c.kumo(["events"])
                return events.contains("OverlayDriftRepaired") && events.contains("route") && events.contains("fdb")
            }
            let metrics = try c.kumo(["state", "agent/\(c.nodeName(1))", "--network"])
            #expect(metrics.contains("repairsByKind"))

            // the incident: removing node 2's overlay data is refused unless forced …
            let patch: JSONValue = ["status": ["overlay": .null]]
            let path = APIPaths.object(.node, project: nil, name: c.nodeName(2))
            do {
                _ = try await c.admin.send(.PATCH, path, body: patch.serialized(), contentType: mergePatchContentType)
                Issue.record("removing another manager's overlay data must be refused")
            } catch let error as KumoError {
                #expect(error.code == .ownershipConflict)
            }
            // … forced, its agent publishes it again, the history names the writer, peers keep their routes
            _ = try await c.admin.send(
                .PATCH, path, query: [("force", "true")], body: patch.serialized(), contentType: mergePatchContentType)
            #expect(try ping(pods[1]!, pods[2]!), "peers kept their entries")
            try await eventually("overlay data restored by its agent", timeout: .seconds(15)) {
                try await node(c, 2)["status"]?["overlay"]?["vtepMAC"] == .string(mac2)
            }
            let history = try c.kumo(["history", "node/\(c.nodeName(2))"])
            #expect(history.contains("admin") && history.contains("/status/overlay"), "\(history)")
            try await eventually("OverlayDataMissing and OverlayDataRestored events") {
                let events = try c.kumo(["events"])
                return events.contains("OverlayDataMissing") && events.contains("OverlayDataRestored")
            }
        }
    }
}
