import KumoModel
import Testing

@testable import KumoInformers

/// The version rules, relist diffs and index upkeep of `ObjectCache`'s pure core, as values (no server, no tasks).
@Suite("ObjectCache core: versions, relist diffs and indexes as values")
struct ObjectCacheStateTests {
    typealias State = CacheState<ReplicaSpec>

    func replica(_ name: String, _ revision: Int64, node: String? = nil, owner: String? = nil) -> Replica {
        var r = Replica(
            metadata: ObjectMeta(name: name, project: "p", labels: owner.map { ["kumo.dev/workload": $0] }),
            spec: ReplicaSpec(image: "busybox:1.36", nodeName: node))
        r.metadata.resourceVersion = String(revision)
        return r
    }

    func item(_ r: Replica) -> State.Item { .init(key: r.cacheKey, revision: r.resourceRevision, value: r) }

    func summary(_ changes: [ObjectChange<ReplicaSpec>]) -> [String] {
        changes.map { "\($0.type.rawValue) \($0.key)@\($0.revision)" }
    }

    @Test("an event replayed by a resume, or older than the cached version, is no change")
    func replays() {
        var s = State()
        #expect(s.apply(.added, item(replica("a", 5)))?.type == .added)
        #expect(s.apply(.added, item(replica("a", 5))) == nil, "the same revision again")
        #expect(s.apply(.modified, item(replica("a", 4))) == nil, "older")
        #expect(s.objects["p/a"]?.resourceRevision == 5)
        #expect(s.apply(.deleted, item(replica("a", 6)))?.type == .deleted)
        #expect(s.apply(.deleted, item(replica("a", 6))) == nil, "a deletion replayed")
        #expect(s.apply(.modified, item(replica("a", 5))) == nil, "a version older than the deletion does not come back")
        #expect(s.objects.isEmpty)
    }

    @Test("an own write wins over older events; it is reported when the watch delivers it; a late older write loses")
    func remembered() {
        var s = State()
        _ = s.apply(.added, item(replica("a", 5)))
        let kept1 = s.remember(replica("a", 7, node: "n1"))
        #expect(kept1)
        #expect(s.apply(.modified, item(replica("a", 6))) == nil, "older than the own write")
        #expect(s.objects["p/a"]?.spec.nodeName == "n1")
        let delivered = s.apply(.modified, item(replica("a", 7, node: "n1")))
        #expect(delivered?.type == .modified, "the watch's copy of the own write is the change handlers see")
        let kept2 = s.remember(replica("a", 7, node: "n1"))
        #expect(!kept2, "already delivered")
        let kept3 = s.remember(replica("a", 6))
        #expect(!kept3, "older")
    }

    @Test("an object deleted since is not brought back by its own write arriving late; a newer incarnation is")
    func noGhosts() {
        var s = State()
        _ = s.apply(.added, item(replica("a", 5)))
        _ = s.apply(.deleted, item(replica("a", 8)))
        let kept4 = s.remember(replica("a", 7))
        #expect(!kept4)
        #expect(s.objects.isEmpty)
        let kept5 = s.remember(replica("a", 9))
        #expect(kept5, "created again after the deletion")
        // after a list: an absent object of a version at or below the list's revision was deleted
        var t = State()
        _ = t.relist([item(replica("b", 3))], revision: 10)
        let kept6 = t.remember(replica("a", 9))
        #expect(!kept6)
        let kept7 = t.remember(replica("a", 11))
        #expect(kept7)
    }

    @Test("a relist reports new, changed and gone objects, not unchanged ones; objects newer than the list stay")
    func relistDiff() {
        var s = State()
        let first = s.relist([item(replica("a", 3)), item(replica("b", 4)), item(replica("c", 5))], revision: 5)
        #expect(summary(first) == ["added p/a@3", "added p/b@4", "added p/c@5"])
        let kept8 = s.remember(replica("e", 12))
        #expect(kept8, "an own write after the next list was read")
        let second = s.relist([item(replica("a", 3)), item(replica("b", 9)), item(replica("d", 8))], revision: 10)
        #expect(summary(second) == ["modified p/b@9", "added p/d@8", "deleted p/c@10"])
        #expect(s.objects["p/e"] != nil, "newer than the list: the watch will say")
        #expect(s.relist([item(replica("a", 3)), item(replica("b", 9)), item(replica("d", 8))], revision: 10).count == 0)
        // a list page read after the list's revision holds a newer version; the watch then replays it: once
        let paged = s.relist([item(replica("a", 14))], revision: 12)
        #expect(summary(paged).first == "modified p/a@14")
        #expect(s.apply(.modified, item(replica("a", 14))) == nil)
    }

    @Test("a version that does not decode keeps the last good one and counts as delivered")
    func undecodable() {
        var s = State()
        s.addIndex("node", ObjectIndexes.replicaNode)
        _ = s.apply(.added, item(replica("a", 3, node: "n1")))
        #expect(s.apply(.modified, .init(key: "p/a", revision: 4, value: nil)) == nil)
        #expect(s.objects["p/a"]?.resourceRevision == 3)
        #expect(s.keys(index: "node", value: "n1") == ["p/a"])
        #expect(!s.isNew("p/a", revision: 4), "not decoded again when listed")
        #expect(s.relist([.init(key: "p/a", revision: 4, value: nil)], revision: 5).isEmpty)
        // never decoded, then gone from a list: forgotten
        _ = s.apply(.added, .init(key: "p/x", revision: 6, value: nil))
        _ = s.relist([.init(key: "p/a", revision: 4, value: nil)], revision: 7)
        #expect(s.delivered["p/x"] == nil)
        #expect(s.apply(.deleted, item(replica("a", 8)))?.type == .deleted, "a deletion needs no decoding")
        #expect(s.keys(index: "node", value: "n1") == [])
    }

    @Test("indexes follow updates and deletes; an index added late is filled; unknown indexes are nil")
    func indexUpkeep() {
        var s = State()
        _ = s.apply(.added, item(replica("a", 1, node: "n1", owner: "web")))
        _ = s.apply(.added, item(replica("b", 2, owner: "web")))
        s.addIndex("node", ObjectIndexes.replicaNode)
        s.addIndex("owner", ObjectIndexes.label("kumo.dev/workload"))
        #expect(s.keys(index: "node", value: "n1") == ["p/a"])
        #expect(s.keys(index: "owner", value: "p/web") == ["p/a", "p/b"])
        _ = s.apply(.modified, item(replica("b", 3, node: "n2", owner: "api")))
        #expect(s.keys(index: "node", value: "n2") == ["p/b"])
        #expect(s.keys(index: "owner", value: "p/web") == ["p/a"])
        #expect(s.keys(index: "owner", value: "p/api") == ["p/b"])
        _ = s.apply(.deleted, item(replica("a", 4)))
        #expect(s.values(index: "node") == ["n2"], "n1's entry went with its last object")
        #expect(s.values(index: "owner") == ["p/api"])
        _ = s.relist([], revision: 5)
        #expect(s.values(index: "node") == [])
        #expect(s.keys(index: "nope", value: "x") == nil)
    }

    @Test("tombstones are bounded: the newest half is kept")
    func tombstoneBound() {
        var s = State(tombstoneLimit: 4)
        for i in 1...10 { _ = s.apply(.deleted, item(replica("r\(i)", Int64(i)))) }
        #expect(s.tombstones.count <= 4)
        #expect(s.tombstones["p/r10"] == 10)
        #expect(s.tombstones["p/r1"] == nil)
    }

    @Test("backoff doubles to its maximum, jittered into the upper half")
    func backoff() {
        let b = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect((1...6).map { b.ceiling(attempt: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(b.delay(attempt: 2, fraction: 0) == .milliseconds(100))
        #expect(b.delay(attempt: 2, fraction: 1) == .milliseconds(200))
        #expect(b.ceiling(attempt: 1_000) == .seconds(1), "no overflow")
    }
}
