import Foundation
import KumoAPI
import KumoInformers
import KumoModel
import KumoStore
import Logging
import Synchronization
import Testing

@testable import KumoServer

/// The real source in front of which a test can hold the cache's next watch back: the test has the server end the
/// cache's watch, keeps the reconnect waiting here, changes objects (and compacts history) meanwhile, then lets it
/// through.
final class GatedSource: ObjectSource {
    private struct State {
        var open = true
        var waiting: [CheckedContinuation<Void, Never>] = []
        var lists = 0
        var watchSinces: [Int64] = []
    }
    let inner: any ObjectSource
    private let state = Mutex(State())

    init(_ inner: any ObjectSource) { self.inner = inner }

    var lists: Int { state.withLock { $0.lists } }
    var watchSinces: [Int64] { state.withLock { $0.watchSinces } }
    /// Watches waiting at the closed gate.
    var waiting: Int { state.withLock { $0.waiting.count } }

    func close() { state.withLock { $0.open = false } }

    func open() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiting.removeAll() }
            return s.waiting
        }
        for w in waiting { w.resume() }
    }

    func list(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        state.withLock { $0.lists += 1 }
        return try await inner.list(kind)
    }

    func watch(_ kind: Kind, since: Int64) async throws(KumoError) -> AsyncThrowingStream<ObjectEvent, any Error> {
        // a cancelled cache (the test's end) is let through the closed gate, so that its run() ends
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let pass = state.withLock { s -> Bool in
                    if s.open || Task.isCancelled { return true }
                    s.waiting.append(c)
                    return false
                }
                if pass { c.resume() }
            }
        } onCancel: {
            let held = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                defer { s.waiting.removeAll() }
                return s.waiting
            }
            for c in held { c.resume() }
        }
        if Task.isCancelled { throw KumoError(.unavailable, "cancelled at the gate") }
        state.withLock { $0.watchSinces.append(since) }
        return try await inner.watch(kind, since: since)
    }
}

/// Every change a cache reported, in order.
final class ChangeLog<Spec: ResourceSpec>: Sendable {
    private let changes = Mutex<[ObjectChange<Spec>]>([])

    init(_ cache: ObjectCache<Spec>) {
        cache.onChange { change in self.changes.withLock { $0.append(change) } }
    }

    var all: [ObjectChange<Spec>] { changes.withLock { $0 } }
    /// `"<type> <key>"` per change.
    var summary: [String] { all.map { "\($0.type.rawValue) \($0.key)" } }
    func clear() { changes.withLock { $0.removeAll() } }
}

@Suite("ObjectCache: a typed informer against a real server (list, watch, resume, 410 relist, indexes)")
struct ObjectCacheTests {
    static let fast = RetryBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))
    /// Retries that come after a stopping test server is gone: one that starts a watch while it shuts down (after
    /// its `WatchCloser` ran) is never ended, and the shutdown waits for it for ever.
    static let afterShutdown = RetryBackoff(initial: .seconds(1), maximum: .seconds(1))
    static let logger = Logger(label: "test.informer")

    /// Runs `cache` while `body` runs (after its first list), then cancels it: `run()` must end within 5 s.
    func running<Spec>(_ cache: ObjectCache<Spec>, _ body: () async throws -> Void) async throws {
        let task = Task { await cache.run() }
        try await withCleanup {
            let synced = try await withTimeout(.seconds(10), waitingFor: "the first list") { await cache.waitForSync() }
            #expect(synced)
            try await body()
        } cleanup: {
            task.cancel()
            let ended = try? await withTimeout(.seconds(5), waitingFor: "run() to end on cancellation") { () -> Bool in
                await task.value
                return true
            }
            #expect(ended == true, "cancelling the task ends run()")
        }
    }

    /// Ends the cache's watch from the server side and waits until its reconnect is held at the closed gate.
    func disconnect(_ s: TestServer, _ source: GatedSource) async throws {
        // open first, then the gate closed: closed before, it would hold the cache's first watch (a loaded machine
        // leaves time between the first list and the watch), which the server then never sees
        try await eventually("the cache's watch to be open") { s.server.core.watches.count >= 1 }
        source.close()
        // endOpen, not stopAll: stopAll is the shutdown's, and would end every later watch as well
        s.server.core.watches.endOpen()
        try await eventually("the cache to watch again (held at the gate)") { source.waiting == 1 }
    }

    /// The history the cache would resume from is gone: the next `since=` is a 410. (A write of another kind first
    /// moves the store past the cache's revision, which a quiet cache would otherwise still be at.)
    func compactHistory(_ s: TestServer) async throws {
        let before = try await s.server.core.store.currentRevision()
        _ = try await s.admin.create(Sample.project("other-\(before)"), kind: .project)
        try await s.server.core.store.compact(through: try await s.server.core.store.currentRevision())
    }

    /// The cache holds exactly what the server lists, version for version.
    func expectSameAsServer(_ cache: ObjectCache<ReplicaSpec>, _ s: TestServer) async throws {
        let listed = try await KumoClientSource(client: s.admin).list(.replica).items
        let server = Dictionary(
            uniqueKeysWithValues: listed.map { (CacheKey.of($0), $0["metadata"]?["resourceVersion"]?.stringValue ?? "") })
        let cached = Dictionary(uniqueKeysWithValues: cache.list().map { ($0.cacheKey, $0.metadata.resourceVersion ?? "") })
        #expect(cached == server)
    }

    func label(_ s: TestServer, _ name: String, _ labels: JSONValue) async throws {
        _ = try await s.admin.mergePatch(.replica, name, project: "p", ["metadata": ["labels": labels]])
    }

    func replica(_ name: String, owner: String) -> JSONValue {
        var r = Sample.replica(name)
        r["metadata"]?["labels"] = ["kumo.dev/workload": .string(owner)]
        return r
    }

    /// Project `p` with `replicas`, and a replica cache over a gated source with a log of its changes.
    func replicaCache(_ s: TestServer, _ replicas: [JSONValue]) async throws
        -> (GatedSource, ObjectCache<ReplicaSpec>, ChangeLog<ReplicaSpec>)
    {
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        for r in replicas { _ = try await s.admin.create(r, kind: .replica, project: "p") }
        let source = GatedSource(KumoClientSource(client: s.admin))
        let cache = ObjectCache<ReplicaSpec>(source: source, logger: Self.logger, backoff: Self.fast)
        return (source, cache, ChangeLog(cache))
    }

    /// While the cache is cut off: creates `created`, labels `relabelled` twice (`step` 1, then 2), deletes
    /// `deleted`; with `compact`, the history of it all is gone before the cache comes back.
    func editWhileDisconnected(
        _ s: TestServer, _ source: GatedSource, created: String, relabelled: String, deleted: String, compact: Bool
    ) async throws {
        try await disconnect(s, source)
        _ = try await s.admin.create(Sample.replica(created), kind: .replica, project: "p")
        try await label(s, relabelled, ["step": "1"])
        try await label(s, relabelled, ["step": "2"])
        _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: deleted))
        if compact { try await compactHistory(s) }
        source.open()
    }

    @Test("a watch the server ends is resumed from its last revision: each change in between once, in order, no relist")
    func resumeAfterDisconnect() async throws {
        try await withServer { s in
            let (source, cache, log) = try await replicaCache(s, ["a", "b", "c"].map { Sample.replica($0) })
            try await running(cache) {
                #expect(log.summary.sorted() == ["added p/a", "added p/b", "added p/c"])
                // one change seen live: the resume replays its revision, which must not be reported again
                try await label(s, "b", ["seen": "live"])
                try await eventually("the live change") { cache.get("p/b")?.metadata.labels?["seen"] == "live" }
                let lastSeen = cache.get("p/b")!.resourceRevision
                log.clear()

                try await editWhileDisconnected(s, source, created: "d", relabelled: "a", deleted: "c", compact: false)

                try await eventually("the changes made while disconnected") { cache.get("p/c") == nil }
                #expect(log.summary == ["added p/d", "modified p/a", "modified p/a", "deleted p/c"])
                #expect(log.all.map { $0.new?.metadata.labels?["step"] } == [nil, "1", "2", nil], "every change, not only the last")
                #expect(log.all.map(\.revision) == log.all.map(\.revision).sorted())
                #expect(log.all.last?.old?.metadata.name == "c", "a deletion carries what the cache had")
                #expect(source.lists == 1, "resumed, not listed again")
                #expect(source.watchSinces.last == lastSeen - 1, "resumed just before the last revision seen")
                try await expectSameAsServer(cache, s)
            }
        }
    }

    @Test("a resume the server has no history for (410) lists again and reports exactly the difference")
    func relistOnGone() async throws {
        try await withServer { s in
            let (source, cache, log) = try await replicaCache(s, ["a", "b", "c", "d"].map { Sample.replica($0) })
            try await running(cache) {
                log.clear()
                try await editWhileDisconnected(s, source, created: "e", relabelled: "a", deleted: "b", compact: true)

                try await eventually("the relist") { cache.get("p/b") == nil && cache.get("p/e") != nil }
                #expect(cache.stats.expired == 1, "the resume was answered 410")
                #expect(source.lists == 2, "listed again")
                // list order (by key), then deletions; c and d did not change and are not reported
                #expect(log.summary == ["modified p/a", "added p/e", "deleted p/b"])
                #expect(log.all.first?.old?.metadata.labels?["step"] == nil)
                #expect(log.all.first?.new?.metadata.labels?["step"] == "2", "two changes, one difference")
                try await expectSameAsServer(cache, s)

                // and the watch follows again from the new list's revision
                try await label(s, "d", ["after": "relist"])
                try await eventually("a change after the relist") { log.summary.count == 4 }
                #expect(log.summary.last == "modified p/d")
                #expect(source.lists == 2)
            }
        }
    }

    @Test("indexes by node and by owner follow binds, label changes and deletes, also deletes a relist finds")
    func indexes() async throws {
        try await withServer { s in
            for n in ["n1", "n2"] { _ = try await s.admin.create(Sample.node(n), kind: .node) }
            let (source, cache, _) = try await replicaCache(
                s, [replica("a", owner: "web"), replica("b", owner: "web"), replica("c", owner: "api")])
            cache.addIndex("node", ObjectIndexes.replicaNode)
            cache.addIndex("owner", ObjectIndexes.label("kumo.dev/workload"))
            func names(_ index: String, _ value: String) -> [String] { cache.byIndex(index, value).map(\.metadata.name) }
            try await running(cache) {
                #expect(names("owner", "p/web") == ["a", "b"])
                #expect(names("owner", "p/api") == ["c"])
                #expect(cache.indexValues("node").isEmpty, "unbound replicas are on no node")

                for (name, node) in [("a", "n1"), ("b", "n2"), ("c", "n1")] {
                    _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: name), toNode: node)
                }
                try await eventually("the bindings") { names("node", "n1") == ["a", "c"] && names("node", "n2") == ["b"] }
                #expect(cache.indexValues("node") == ["n1", "n2"])

                try await label(s, "c", ["kumo.dev/workload": "web"])
                try await eventually("c's new owner") { names("owner", "p/web") == ["a", "b", "c"] }
                #expect(names("owner", "p/api").isEmpty, "moved, not copied")
                #expect(cache.indexValues("owner") == ["p/web"], "an empty entry goes")

                _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: "a"), query: [("force", "true")])
                try await eventually("a's deletion") { cache.get("p/a") == nil }
                #expect(names("node", "n1") == ["c"])
                #expect(names("owner", "p/web") == ["b", "c"])

                // a deletion found by a relist after a 410
                try await disconnect(s, source)
                _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: "b"), query: [("force", "true")])
                try await compactHistory(s)
                source.open()
                try await eventually("b's deletion, by relist") { cache.get("p/b") == nil }
                #expect(cache.stats.expired == 1)
                #expect(names("node", "n2").isEmpty)
                #expect(cache.indexValues("node") == ["n1"])
                #expect(names("owner", "p/web") == ["c"])
                try await expectSameAsServer(cache, s)
            }
        }
    }

    @Test("a version that does not decode is left out and logged once; a good one comes in; a later bad one keeps it")
    func undecodable() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.replica("a"), kind: .replica, project: "p")
            // written past the API's validation, as a record from an older or newer server could be
            func store(_ spec: JSONValue) async throws {
                let object: JSONValue = [
                    "apiVersion": "kumo/v1", "kind": "Replica", "metadata": ["name": "odd", "project": "p"], "spec": spec,
                ]
                _ = try await s.server.core.store.commit(
                    Txn(operations: [.put(ObjectRef(.replica, project: "p", name: "odd").storeKey, object.serialized())]))
            }
            try await store(["image": 5])
            let logs = CapturedLogs()
            let source = GatedSource(KumoClientSource(client: s.admin))
            let cache = ObjectCache<ReplicaSpec>(source: source, logger: logs.logger(), backoff: Self.fast)
            let log = ChangeLog(cache)
            func reports() -> Int { logs.lines.withLock { $0.filter { $0.contains("does not decode") }.count } }
            try await running(cache) {
                #expect(cache.get("p/a") != nil)
                #expect(cache.get("p/odd") == nil, "left out")
                #expect(cache.decodeFailures == 1)
                #expect(reports() == 1)
                #expect(log.summary == ["added p/a"])

                // the same version listed again (after a 410): neither decoded nor logged again
                try await disconnect(s, source)
                try await compactHistory(s)
                source.open()
                try await eventually("the relist") { source.lists == 2 && cache.stats.lists == 2 }
                #expect(cache.decodeFailures == 1)
                #expect(reports() == 1, "once per version")

                try await store(["image": "busybox:1.36"])
                try await eventually("the good version") { cache.get("p/odd") != nil }
                #expect(log.summary == ["added p/a", "added p/odd"])

                try await store(["image": ["not": "a string"]])
                try await eventually("the second bad version to be reported") { cache.decodeFailures == 2 }
                #expect(reports() == 2)
                #expect(cache.get("p/odd")?.spec.image == "busybox:1.36", "the last good version stays")
                #expect(log.summary.count == 2, "a version left out is no change")
            }
        }
    }

    @Test("a server restart: the cache retries until the server is back, then follows it without losing a change")
    func serverRestart() async throws {
        let s = try await TestServer.startOnStablePort()
        var restarted: TestServer? = nil
        try await withCleanup {
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.replica("a"), kind: .replica, project: "p")
            let cache = ObjectCache<ReplicaSpec>(source: KumoClientSource(client: s.admin), logger: Self.logger, backoff: Self.afterShutdown)
            let log = ChangeLog(cache)
            try await running(cache) {
                log.clear()
                // the server ends only the watches open when its shutdown starts (see `afterShutdown`)
                try await eventually("the cache's watch to be open") { s.server.core.watches.count >= 1 }
                await s.stop()
                let port = s.port
                let again = try await TestServer.start(dir: s.dir) { $0.port = port }
                restarted = again
                _ = try await again.admin.create(Sample.replica("b"), kind: .replica, project: "p")
                try await label(again, "a", ["after": "restart"])
                try await eventually("the changes after the restart", timeout: .seconds(20)) {
                    cache.get("p/a")?.metadata.labels?["after"] == "restart"
                }
                // resumed (or, had the restart lost the history, listed again): both changes, once each
                #expect(log.summary.sorted() == ["added p/b", "modified p/a"])
                #expect(cache.stats.watches >= 2)
                try await expectSameAsServer(cache, again)
            }
        } cleanup: {
            if let restarted { await restarted.finish() } else { await s.finish() }
        }
    }

    @Test("with a field selector the cache holds only what matches (an agent's replicas), listed page by page")
    func fieldSelector() async throws {
        try await withServer { s in
            for n in ["n1", "n2"] { _ = try await s.admin.create(Sample.node(n), kind: .node) }
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            for name in ["a", "b", "c", "d"] { _ = try await s.admin.create(Sample.replica(name), kind: .replica, project: "p") }
            func bind(_ name: String, _ node: String) async throws {
                _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: name), toNode: node)
            }
            for (name, node) in [("a", "n1"), ("b", "n2"), ("c", "n1")] { try await bind(name, node) }
            let source = KumoClientSource(client: s.admin, fieldSelector: "spec.nodeName=n1", pageSize: 1)
            let cache = ObjectCache<ReplicaSpec>(source: source, logger: Self.logger, backoff: Self.fast)
            let log = ChangeLog(cache)
            try await running(cache) {
                #expect(cache.list().map(\.cacheKey).sorted() == ["p/a", "p/c"], "two pages of one")
                log.clear()
                try await label(s, "b", ["on": "n2"])
                try await bind("d", "n1")
                try await eventually("d bound to n1") { cache.get("p/d") != nil }
                #expect(log.summary == ["added p/d"], "b's change is not n1's")
                #expect(cache.get("p/b") == nil)
            }
        }
    }

    @Test("the server's in-process control plane is an ObjectSource: a cache follows it the same way")
    func inProcessSource() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            let cache = ObjectCache<NodeSpec>(
                source: InProcessControlPlane(core: s.server.core), logger: Self.logger, backoff: Self.fast)
            let changes = cache.changes()
            try await running(cache) {
                #expect(cache.get("n1")?.spec.unschedulable == false)
                _ = try await s.admin.mergePatch(.node, "n1", ["spec": ["unschedulable": true]])
                _ = try await s.admin.create(Sample.node("n2"), kind: .node)
                let got = try await withTimeout(.seconds(10), waitingFor: "3 changes") {
                    var out: [String] = []
                    for await change in changes {
                        out.append("\(change.type.rawValue) \(change.key)")
                        if out.count == 3 { break }
                    }
                    return out
                }
                #expect(got == ["added n1", "modified n1", "added n2"])
                #expect(cache.get("n1")?.spec.unschedulable == true)
            }
        }
    }
}
