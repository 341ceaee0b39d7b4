import Foundation
import KumoAPI
import KumoModel
import Logging
import Synchronization
import Testing

@testable import KumoAgent
@testable import KumoServer

/// Reads one watch stream in the background and keeps every event, so a test can wait for one event and then
/// check everything that came before it (a watch is in revision order: what did not come before a later
/// change was not sent).
final class WatchCollector: Sendable {
    let events = Mutex<[WatchEventWire]>([])
    let failure = Mutex<String?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(_ stream: AsyncThrowingStream<WatchEventWire, any Error>) {
        let task = Task { [self] in
            do {
                for try await event in stream { events.withLock { $0.append(event) } }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        self.task.withLock { $0 = task }
    }

    var all: [WatchEventWire] { events.withLock { $0 } }

    /// The first event matching `match` (waits up to `timeout`).
    @discardableResult
    func first(_ what: String, timeout: Duration = .seconds(10), _ match: (WatchEventWire) -> Bool) async throws -> WatchEventWire {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let hit = all.first(where: match) { return hit }
            if let failed = failure.withLock({ $0 }) { throw KumoError(.internal, "watch ended while waiting for \(what): \(failed)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw KumoError(.internal, "timed out waiting for \(what); got \(all.map(NodeSecretWatchTests.describe))")
    }

    func cancel() { task.withLock { $0?.cancel() } }
}

/// (secret, value) pairs an agent's `NodeSecrets` delivered, in order.
final class Deliveries: Sendable {
    private let items = Mutex<[(String, String)]>([])
    func withLock<T>(_ body: (inout [(String, String)]) -> T) -> T { items.withLock { body(&$0) } }
}

@Suite("Secrets: a node's list and watch carry only the secrets its replicas reference")
struct NodeSecretWatchTests {
    static func describe(_ e: WatchEventWire) -> String {
        "\(e.type) \(e.object["metadata"]?["project"]?.stringValue ?? "")/\(e.object["metadata"]?["name"]?.stringValue ?? "")"
    }

    static func key(_ e: WatchEventWire) -> String {
        "\(e.object["metadata"]?["project"]?.stringValue ?? "")/\(e.object["metadata"]?["name"]?.stringValue ?? "")"
    }

    static func value(_ e: WatchEventWire, _ key: String = "k") -> String? {
        e.object["spec"]?["data"]?[key]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    static func set(_ s: TestServer, _ project: String, _ name: String, _ value: String) async throws {
        _ = try await s.admin.mergePatch(.secret, name, project: project, ["spec": ["data": ["k": .string(SecretTests.b64(value))]]])
    }

    static func replica(_ name: String, env: String? = nil, files: String? = nil) -> JSONValue {
        var spec: [String: JSONValue] = ["image": "busybox:1.36"]
        if let env { spec["env"] = [["name": "X", "secretRef": ["name": .string(env), "key": "k"]]] }
        if let files { spec["secrets"] = [["name": .string(files)]] }
        var object = Sample.replica(name)
        object["spec"] = .object(spec)
        return object
    }

    static func names(_ list: JSONValue) -> [String] {
        (list["items"]?.arrayValue ?? []).map {
            "\($0["metadata"]?["project"]?.stringValue ?? "")/\($0["metadata"]?["name"]?.stringValue ?? "")"
        }.sorted()
    }

    /// Projects p and q, secrets p/db, p/files, p/later, p/nobody and q/db; n1 runs p/a (env → db), n2 runs p/b
    /// (files → files).
    static func cluster(_ s: TestServer) async throws -> (n1: KumoClient, n2: KumoClient) {
        for p in ["p", "q"] { _ = try await s.admin.create(Sample.project(p), kind: .project) }
        for name in ["db", "files", "later", "nobody"] {
            _ = try await s.admin.create(SecretTests.secret(name, ["k": "\(name)-1"]), kind: .secret, project: "p")
        }
        _ = try await s.admin.create(SecretTests.secret("db", ["k": "q-db-1"]), kind: .secret, project: "q")
        let n1 = try await SecretTests.nodeToken(s, node: "n1")
        let n2 = try await SecretTests.nodeToken(s, node: "n2")
        _ = try await n1.create(Sample.node("n1"), kind: .node)
        _ = try await n2.create(Sample.node("n2"), kind: .node)
        _ = try await s.admin.create(Self.replica("a", env: "db"), kind: .replica, project: "p")
        _ = try await s.admin.create(Self.replica("b", files: "files"), kind: .replica, project: "p")
        _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "a"), toNode: "n1")
        _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "b"), toNode: "n2")
        return (n1, n2)
    }

    @Test("the index: bound objects' references by node; rebinding, unbinding and deleting drop them")
    func index() {
        var index = SecretReferenceIndex()
        let a = "/registry/replicas/p/a"
        let b = "/registry/replicas/p/b"
        let vm = "/registry/instances/p/vm"
        let db = "/registry/secrets/p/db"
        func object(_ node: String?, env: String? = nil, files: [JSONValue] = []) -> JSONValue {
            var spec: [String: JSONValue] = ["secrets": .array(files)]
            if let node { spec["nodeName"] = .string(node) }
            if let env { spec["env"] = [["name": "X", "secretRef": ["name": .string(env), "key": "k"]]] }
            return ["spec": .object(spec)]
        }
        index.apply(key: a, object: object(nil, env: "db"))
        #expect(!index.references(node: "n1", secretKey: db), "not bound: nobody's")
        index.apply(key: a, object: object("n1", env: "db"))
        index.apply(key: b, object: object("n1", files: ["db", ["secretName": "tls"]]))
        index.apply(key: vm, object: object("n2", files: [["name": "db"]]))
        #expect(index.references(node: "n1", secretKey: db))
        #expect(index.references(node: "n2", secretKey: db))
        #expect(index.references(node: "n1", secretKey: "/registry/secrets/p/tls"))
        #expect(!index.references(node: "n1", secretKey: "/registry/secrets/q/db"), "another project's secret of the same name")
        #expect(!index.references(node: "n1", secretKey: "/registry/services/p/db"))
        #expect(index.secrets(of: "n1") == [.init(project: "p", name: "db"), .init(project: "p", name: "tls")])
        index.apply(key: a, object: nil)
        #expect(index.references(node: "n1", secretKey: db), "b still uses it")
        index.apply(key: b, object: object("n3", files: ["db"]))
        #expect(!index.references(node: "n1", secretKey: db), "moved to n3")
        #expect(index.references(node: "n3", secretKey: db))
        index.apply(key: b, object: object("n3"))
        index.apply(key: vm, object: nil)
        #expect(index.holders.isEmpty)
        #expect(index.referenceCount == 0)
        #expect(SecretReferenceIndex.secret(atKey: "/registry/secrets/p") == nil)
    }

    @Test("list and watch: a node sees its replicas' secrets and never another's; a secret referenced later is delivered; an unreferenced one never")
    func filter() async throws {
        try await withServer { s in
            let (n1, n2) = try await Self.cluster(s)
            #expect(Self.names(try await n1.send(.GET, "/api/v1/secrets").json()) == ["p/db"])
            #expect(Self.names(try await n2.send(.GET, "/api/v1/secrets").json()) == ["p/files"])
            #expect(Self.names(try await n1.send(.GET, "/api/v1/projects/q/secrets").json()) == [])
            let listed = try await n1.send(.GET, "/api/v1/projects/p/secrets").json()
            #expect(Self.names(listed) == ["p/db"])
            #expect(listed["items"]?.arrayValue?.first?["spec"]?["data"]?["k"]?.stringValue == SecretTests.b64("db-1"))
            // still no writes, and a single secret only by reference
            #expect(await kumoError { _ = try await n1.create(SecretTests.secret("x", ["k": "v"]), kind: .secret, project: "p") }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.get(.secret, "nobody", project: "p") }?.code == .forbidden)

            let w1 = WatchCollector(try await n1.watch("/api/v1/secrets", query: []))
            let w2 = WatchCollector(try await n2.watch("/api/v1/secrets", query: []))
            defer {
                w1.cancel()
                w2.cancel()
            }
            try await w1.first("n1's initial list") { $0.type == "ADDED" && Self.key($0) == "p/db" }
            try await w2.first("n2's initial list") { $0.type == "ADDED" && Self.key($0) == "p/files" }

            // changes nobody on n1 references, then one it does: only that one arrives
            try await Self.set(s, "p", "files", "files-2")
            try await Self.set(s, "q", "db", "q-db-2")
            try await Self.set(s, "p", "nobody", "nobody-2")
            try await Self.set(s, "p", "later", "later-2")
            try await Self.set(s, "p", "db", "db-2")
            try await w1.first("db-2 on n1") { Self.value($0) == "db-2" }
            #expect(w1.all.map(Self.describe) == ["ADDED p/db", "MODIFIED p/db"])
            try await w2.first("files-2 on n2") { Self.value($0) == "files-2" }

            // a replica bound to n1 later references p/later: from its binding on, p/later's changes reach n1
            _ = try await s.admin.create(Self.replica("c", files: "later"), kind: .replica, project: "p")
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "c"), toNode: "n1")
            try await Self.set(s, "p", "later", "later-3")
            try await w1.first("later-3 on n1") { Self.value($0) == "later-3" }
            #expect(!w1.all.contains { Self.value($0) == "later-2" }, "a change from before the reference")
            #expect(Self.names(try await n1.send(.GET, "/api/v1/secrets").json()) == ["p/db", "p/later"])

            // the replica goes: p/later is n1's no longer
            _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: "c"), query: [("force", "true")])
            try await Self.set(s, "p", "later", "later-4")
            try await Self.set(s, "p", "db", "db-3")
            try await w1.first("db-3 on n1") { Self.value($0) == "db-3" }
            #expect(!w1.all.contains { Self.value($0) == "later-4" })
            // a referenced secret deleted: DELETED
            _ = try await s.admin.send(.DELETE, APIPaths.object(.secret, project: "p", name: "db"))
            try await w1.first("db deleted on n1") { $0.type == "DELETED" && Self.key($0) == "p/db" }

            // nothing of anyone else's, ever
            for (watch, own) in [(w1, ["p/db", "p/later"]), (w2, ["p/files"])] {
                let seen = Set(watch.all.map(Self.key))
                #expect(seen.isSubset(of: Set(own)), "\(seen)")
            }
            #expect(!w2.all.contains { Self.key($0) == "p/db" || Self.key($0) == "q/db" })

            // a watch replayed from an earlier revision is filtered the same way (by today's references)
            let replay = WatchCollector(try await n1.watch("/api/v1/secrets", query: [("since", listed["metadata"]?["revision"]?.stringValue ?? "0")]))
            defer { replay.cancel() }
            try await replay.first("db deleted in the replay") { $0.type == "DELETED" }
            #expect(replay.all.map(Self.describe) == ["MODIFIED p/db", "MODIFIED p/db", "DELETED p/db"])
        }
    }

    @Test("a node's secret watch from a revision the broadcaster no longer holds is a 410: list again")
    func goneBeforeTheRing() async throws {
        try await withServer { s in
            let (n1, _) = try await Self.cluster(s)
            var ringFrom: Double = 0
            for _ in 0..<100 {
                if let r = s.server.core.broadcaster.snapshot()["ringFromRevision"]?.numberValue { ringFrom = r; break }
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(ringFrom > 0, "the broadcaster started after the first writes")
            let e = await kumoError { _ = try await n1.watch("/api/v1/secrets", query: [("since", "0")]) }
            #expect(e?.code == .gone, "\(e?.message ?? "")")
            // the admin's watch from there is served by the store instead
            let admin = try await takeEvents(1, try await s.admin.watch("/api/v1/secrets", query: [("since", "0")]))
            #expect(admin.count == 1)
        }
    }

    @Test("the agent: one watch delivers a changed secret to what uses it; never an unreferenced one; never an older version")
    func agentFollowsTheWatch() async throws {
        try await withServer { s in
            let (n1, _) = try await Self.cluster(s)
            var logger = Logger(label: "test.agent.secrets")
            logger.logLevel = .warning
            let secrets = NodeSecrets(
                api: AgentAPI(client: n1, node: "n1"), metrics: AgentMetrics(), logger: logger, relistDelay: .milliseconds(100))
            let delivered = Deliveries()
            let run = Task {
                await secrets.run { key, data in
                    delivered.withLock { $0.append(("\(key)", String(decoding: data["k"] ?? [], as: UTF8.self))) }
                    return true
                }
            }
            defer { run.cancel() }
            func wait(for value: String) async throws {
                for _ in 0..<500 {
                    if delivered.withLock({ $0.contains { $0.1 == value } }) { return }
                    try await Task.sleep(for: .milliseconds(20))
                }
                Issue.record("\(value) never delivered; got \(delivered.withLock { $0 })")
            }
            try await wait(for: "db-1")  // the first list
            try await Self.set(s, "p", "nobody", "nobody-2")
            try await Self.set(s, "p", "db", "db-2")
            try await wait(for: "db-2")
            #expect(secrets.current(.init(project: "p", name: "db"))?["k"] == [UInt8]("db-2".utf8))

            // a replica started later reads its secret once, then gets its changes from the same watch
            _ = try await s.admin.create(Self.replica("c", files: "later"), kind: .replica, project: "p")
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "c"), toNode: "n1")
            #expect(try await secrets.fetch(project: "p", name: "later")["k"] == [UInt8]("later-1".utf8))
            try await Self.set(s, "p", "later", "later-2")
            try await wait(for: "later-2")
            #expect(!delivered.withLock { $0.contains { $0.0 == "p/nobody" || $0.1.hasPrefix("files") } })
            // the order of arrival does not matter: an older version never replaces a newer one
            let key = NodeSecrets.Key(project: "p", name: "later")
            #expect(!secrets.record(key, .init(revision: 1, data: ["k": [UInt8]("stale".utf8)])))
            #expect(secrets.current(key) == ["k": [UInt8]("later-2".utf8)])
            let state = secrets.state()
            #expect(state["watchFailures"] == 0)
            #expect(state["secrets"] == ["p/db", "p/later"])
        }
    }
}
