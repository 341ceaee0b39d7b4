import Foundation
import KumoAPI
import KumoModel
import KumoStore
import Testing

@testable import KumoServer

/// Node-scoped lists (an agent's replicas) read from the broadcaster's binding index, not a collection scan.
@Suite("API: node-scoped lists from the binding index")
struct NodeBindingIndexTests {
    func bound(_ node: String?) -> JSONValue {
        node.map { ["spec": ["nodeName": .string($0)]] } ?? ["spec": [:]]
    }

    @Test("the index follows binds, moves and deletes; keys are per node and per project prefix")
    func pureIndex() {
        var index = NodeBindingIndex()
        let a = "/registry/replicas/p/a", b = "/registry/replicas/p/b", c = "/registry/replicas/q/c"
        index.apply(key: a, object: bound("n1"))
        index.apply(key: b, object: bound("n1"))
        index.apply(key: c, object: bound("n1"))
        index.apply(key: "/registry/replicas/p/pending", object: bound(nil))
        #expect(index.keys(boundTo: "n1", under: "/registry/replicas/") == [a, b, c])
        #expect(index.keys(boundTo: "n1", under: "/registry/replicas/p/") == [a, b])
        index.apply(key: b, object: bound("n2"))
        #expect(index.keys(boundTo: "n1", under: "/registry/replicas/") == [a, c])
        #expect(index.keys(boundTo: "n2", under: "/registry/replicas/") == [b])
        index.apply(key: a, object: nil)
        index.apply(key: b, object: bound(""))
        #expect(index.keys(boundTo: "n1", under: "/registry/replicas/") == [c])
        #expect(index.keys(boundTo: "n2", under: "/registry/replicas/").isEmpty)
        #expect(index.count == 1)
    }

    func nodeClient(_ s: TestServer, _ node: String) async throws -> KumoClient {
        let join = try await s.admin.send(.POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(role: .join))))
            .decode(TokenInfo.self).token!
        let info = try await s.client(token: join).send(.POST, "/api/v1/join", body: Array(try JSONEncoder().encode(JoinRequest(node: node))))
            .decode(TokenInfo.self)
        return s.client(token: info.token!)
    }

    @Test("a node's list of its replicas is answered from the index, equal to the scan; a watch from its revision misses nothing")
    func listFromIndex() async throws {
        try await withServer { s in
            for n in ["n1", "n2"] { _ = try await s.admin.create(Sample.node(n), kind: .node) }
            for p in ["p", "q"] { _ = try await s.admin.create(Sample.project(p), kind: .project) }
            func bind(_ project: String, _ name: String, _ node: String) async throws {
                _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: project, name: name), toNode: node)
            }
            for (p, name) in [("p", "a"), ("p", "b"), ("q", "c"), ("p", "d")] {
                _ = try await s.admin.create(Sample.replica(name), kind: .replica, project: p)
            }
            try await bind("p", "a", "n1")
            try await bind("q", "c", "n1")
            try await bind("p", "b", "n2")
            let n1 = try await nodeClient(s, "n1")
            func names(_ client: KumoClient, _ path: String, _ query: [(String, String)]) async throws -> [String] {
                try await client.send(.GET, path, query: query).decode(ObjectList.self).items
                    .compactMap { $0["metadata"]?["name"]?.stringValue }.sorted()
            }
            func indexedLists() async throws -> Int {
                let text = String(decoding: try await s.admin.send(.GET, "/metrics").body, as: UTF8.self)
                let line = text.split(separator: "\n").first { $0.hasPrefix("kumo_api_indexed_lists_total ") }
                return Int(line?.split(separator: " ").last ?? "0") ?? 0
            }
            try await eventually("the broadcaster has seen the binds") {
                try await names(n1, "/api/v1/replicas", [("fieldSelector", "spec.nodeName=n1")]) == ["a", "c"]
            }
            let before = try await indexedLists()
            #expect(try await names(n1, "/api/v1/projects/p/replicas", [("fieldSelector", "spec.nodeName=n1"), ("limit", "500")]) == ["a"])
            #expect(try await names(n1, "/api/v1/replicas", [("fieldSelector", "spec.nodeName=n1"), ("labelSelector", "nope=1")]).isEmpty)
            #expect(try await indexedLists() == before + 2, "two lists from the index")
            // more than one page, or not a node's: the scan, with the same answers
            #expect(try await names(n1, "/api/v1/replicas", [("fieldSelector", "spec.nodeName=n1"), ("limit", "1")]) == ["a"])
            #expect(try await names(s.admin, "/api/v1/replicas", [("fieldSelector", "spec.nodeName=n1")]) == ["a", "c"])
            #expect(try await indexedLists() == before + 2)

            // changed after the index's revision: listed as it is now, and a watch from that revision brings the rest
            let core = s.server.core
            let keys = core.broadcaster.keys(boundTo: "n1", under: StoreKeys.collectionPrefix(.replica, project: nil))!
            try await bind("p", "d", "n1")
            _ = try await s.admin.mergePatch(.replica, "a", project: "p", ["metadata": ["labels": ["changed": "yes"]]])
            let page = try await core.resources.list(
                keys: keys.keys, atRevision: keys.revision, filter: ListFilter(fieldSelector: try FieldSelector(parsing: "spec.nodeName=n1")))
            #expect(page.items.compactMap { $0["metadata"]?["name"]?.stringValue } == ["a", "c"])
            #expect(page.items.first?["metadata"]?["labels"]?["changed"] == "yes", "as it is now")
            let stream = try await n1.watch(
                "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=n1"), ("since", String(page.revision))])
            let events = try await takeEvents(2, stream)
            #expect(Set(events.compactMap { $0.object["metadata"]?["name"]?.stringValue }) == ["a", "d"])
        }
    }
}
