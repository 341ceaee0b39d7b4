import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: join tokens, node tokens, leases")
struct NodeTokenTests {
    func joinToken(_ s: TestServer, ttl: Int? = nil) async throws -> String {
        let body = try JSONEncoder().encode(TokenRequest(role: .join, ttlSeconds: ttl))
        let info = try await s.admin.send(.POST, "/api/v1/tokens", body: Array(body)).decode(TokenInfo.self)
        #expect(info.expiresAt != nil)
        return info.token!
    }

    func nodeToken(_ s: TestServer, join: String, node: String) async throws -> KumoClient {
        let body = try JSONEncoder().encode(JoinRequest(node: node))
        let info = try await s.client(token: join).send(.POST, "/api/v1/join", body: Array(body)).decode(TokenInfo.self)
        #expect(info.identity == "node/\(node)")
        #expect(info.role == .node)
        return s.client(token: info.token!)
    }

    @Test("a join token only joins; the node token it yields may do exactly what a node needs")
    func nodeAuthorizer() async throws {
        try await withServer { s in
            let join = try await joinToken(s)
            let joiner = s.client(token: join)
            #expect(await kumoError { _ = try await joiner.send(.GET, "/api/v1/nodes") }?.code == .forbidden)
            let n1 = try await nodeToken(s, join: join, node: "n1")
            let n2 = try await nodeToken(s, join: join, node: "n2")

            // register its own Node, not another's
            let node = try await n1.create(Sample.node("n1"), kind: .node)
            #expect(node["metadata"]?["managedFields"]?["spec.unschedulable"] == "node/n1")
            #expect(await kumoError { _ = try await n1.create(Sample.node("n9"), kind: .node) }?.code == .forbidden)
            _ = try await n2.create(Sample.node("n2"), kind: .node)
            // publish its own status; read all nodes (overlay peers); not change another node
            _ = try await n1.mergePatch(.node, "n1", ["status": ["overlay": ["publicIP": "192.0.2.11", "vtepMAC": "02:00:00:00:00:01"]]])
            #expect(try await n2.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue?.count == 2)
            #expect(await kumoError { _ = try await n2.mergePatch(.node, "n1", ["metadata": ["labels": ["x": "y"]]]) }?.code == .forbidden)

            // replicas: only those bound to it, only status
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.replica("a"), kind: .replica, project: "p")
            _ = try await s.admin.create(Sample.replica("b"), kind: .replica, project: "p")
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "a"), toNode: "n1")
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "b"), toNode: "n2")
            let mine = try await n1.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=n1")]).json()
            #expect(mine["items"]?.arrayValue?.map { $0["metadata"]!["name"]! } == ["a"])
            #expect(await kumoError { _ = try await n1.send(.GET, "/api/v1/replicas") }?.code == .forbidden)
            #expect(
                await kumoError {
                    _ = try await n1.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=n2")])
                }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.get(.replica, "b", project: "p") }?.code == .forbidden, "another node's work → 403")
            let running = try await n1.mergePatch(.replica, "a", project: "p", ["status": ["phase": "Running", "ready": true]])
            #expect(running["status"]?["phase"] == "Running")
            #expect(running["metadata"]?["managedFields"]?["status.phase"] == "node/n1")
            #expect(await kumoError { _ = try await n1.mergePatch(.replica, "a", project: "p", ["spec": ["image": "evil:1"]]) }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.mergePatch(.replica, "b", project: "p", ["status": ["phase": "Failed"]]) }?.code == .forbidden)
            // nothing else (its replicas use no secret, so a list of secrets is empty)
            #expect(try await n1.send(.GET, "/api/v1/projects/p/secrets").json()["items"] == [])
            #expect(await kumoError { _ = try await n1.create(Sample.secret("s"), kind: .secret, project: "p") }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.send(.GET, "/api/v1/tokens") }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.send(.DELETE, "/api/v1/nodes/n1") }?.code == .forbidden)

            // re-joining rotates the node token: the old one stops working
            let again = try await nodeToken(s, join: join, node: "n1")
            #expect(await kumoError { _ = try await n1.send(.GET, "/api/v1/nodes") }?.code == .unauthorized)
            #expect(try await again.send(.GET, "/api/v1/nodes").status == 200)
        }
    }

    @Test("deleting a bound replica is graceful: marked Terminating until its node's agent removes it")
    func gracefulDeletion() async throws {
        try await withServer { s in
            let join = try await joinToken(s)
            let n1 = try await nodeToken(s, join: join, node: "n1")
            let n2 = try await nodeToken(s, join: join, node: "n2")
            _ = try await n1.create(Sample.node("n1"), kind: .node)
            _ = try await n2.create(Sample.node("n2"), kind: .node)
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            for name in ["a", "b", "c"] {
                _ = try await s.admin.create(Sample.replica(name), kind: .replica, project: "p")
            }
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "a"), toNode: "n1")
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "b"), toNode: "n1")
            _ = try await n1.mergePatch(.replica, "a", project: "p", ["status": ["phase": "Running", "ready": true]])

            // phase one: the object stays, marked, with status Terminating; asking again changes nothing
            let marked = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/a").json()
            #expect(marked["metadata"]?["deletionTimestamp"]?.stringValue != nil)
            #expect(marked["status"]?["phase"] == "Terminating")
            #expect(marked["status"]?["ready"] == false)
            let again = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/a").json()
            #expect(again["metadata"]?["resourceVersion"] == marked["metadata"]?["resourceVersion"])
            #expect(try await s.admin.get(.replica, "a", project: "p")["metadata"]?["deletionTimestamp"] != nil)
            // a client cannot take the mark back
            _ = try await s.admin.mergePatch(.replica, "a", project: "p", ["metadata": ["labels": ["x": "y"]]])
            #expect(try await s.admin.get(.replica, "a", project: "p")["metadata"]?["deletionTimestamp"] != nil)
            // another node may not finish it; its own node may
            #expect(await kumoError { _ = try await n2.send(.DELETE, "/api/v1/projects/p/replicas/a") }?.code == .forbidden)
            _ = try await n1.send(.DELETE, "/api/v1/projects/p/replicas/a")
            #expect(await kumoError { _ = try await s.admin.get(.replica, "a", project: "p") }?.code == .notFound)
            // force skips the agent; unbound replicas go at once
            _ = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/b", query: [("force", "true")])
            #expect(await kumoError { _ = try await s.admin.get(.replica, "b", project: "p") }?.code == .notFound)
            _ = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/c")
            #expect(await kumoError { _ = try await s.admin.get(.replica, "c", project: "p") }?.code == .notFound)
        }
    }

    @Test("leases: the node renews its own, not others'; not a Node write, not in history")
    func leases() async throws {
        try await withServer { s in
            let join = try await joinToken(s)
            let n1 = try await nodeToken(s, join: join, node: "n1")
            let missing = await kumoError { _ = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array("{}".utf8)) }
            #expect(missing?.code == .notFound, "register first")
            let node = try await n1.create(Sample.node("n1"), kind: .node)
            _ = try await s.admin.create(Sample.node("n2"), kind: .node)
            let lease = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":6}"#.utf8)).json()
            #expect(lease["holder"] == "node/n1")
            #expect(lease["durationSeconds"] == 6)
            let again = try await n1.send(.PUT, "/api/v1/nodes/n1/lease").json()
            #expect(again["renewTime"] != nil)
            #expect(try await s.admin.send(.GET, "/api/v1/nodes/n1/lease").json()["node"] == "n1")
            #expect(await kumoError { _ = try await n1.send(.PUT, "/api/v1/nodes/n2/lease") }?.code == .forbidden)
            let after = try await s.admin.get(.node, "n1")
            #expect(after["metadata"]?["resourceVersion"] == node["metadata"]?["resourceVersion"], "the Node object is untouched")
            let history = try await s.admin.send(.GET, "/api/v1/nodes/n1/history").decode(HistoryList.self)
            #expect(history.items.count == 1)
        }
    }

    @Test("a lease with a huge, negative, fractional or non-number durationSeconds is a 422 naming the field; the server lives on")
    func leaseDurationOutOfRange() async throws {
        try await withServer { s in
            let join = try await joinToken(s)
            let n1 = try await nodeToken(s, join: join, node: "n1")
            _ = try await n1.create(Sample.node("n1"), kind: .node)
            // 1e300 trapped Int(Double) and took the control plane down
            for bad in ["1e300", "-1", "-1e300", "0", "3601", "2.5", "9223372036854775807", "\"6\"", "null", "[]"] {
                let error = await kumoError {
                    _ = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":\#(bad)}"#.utf8))
                }
                #expect(error?.code == .invalid, "durationSeconds \(bad)")
                #expect(error?.field == "durationSeconds", "durationSeconds \(bad)")
            }
            let lease = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":3600}"#.utf8)).json()
            #expect(lease["durationSeconds"] == 3600)
        }
    }

    @Test("join tokens expire")
    func expiry() async throws {
        try await withServer { s in
            let bad = await kumoError {
                _ = try await s.admin.send(
                    .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(role: .join, ttlSeconds: 5))))
            }
            #expect(bad?.code == .invalid)
            // an expired record (written as if made long ago) is refused
            let join = try await joinToken(s, ttl: 60)
            let list = try await s.admin.send(.GET, "/api/v1/tokens").decode(TokenList.self)
            var info = try #require(list.items.first { $0.role == .join })
            info.expiresAt = "2020-01-01T00:00:00Z"
            let hash = try #require(try await s.server.core.store.get("/auth/token-names/\(info.name)"))
            try await s.server.core.store.commit(
                .init(operations: [.put("/auth/tokens/" + String(decoding: hash.value, as: UTF8.self), Array(try JSONEncoder().encode(info)))]))
            let expired = await kumoError {
                _ = try await s.client(token: join).send(.POST, "/api/v1/join", body: Array(#"{"node":"n1"}"#.utf8))
            }
            #expect(expired?.code == .unauthorized)
            #expect(expired?.message.contains("expired") == true)
        }
    }
}
