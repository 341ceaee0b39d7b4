import KumoModel
import Testing

@testable import KumoServer

/// The watch fan-out's index: an event reaches the subscribers of its kind and, of those that require a node, only
/// its node's.
@Suite struct SubscriberIndexTests {
    static func filter(_ selector: String?) throws -> ListFilter {
        ListFilter(fieldSelector: try selector.map { try FieldSelector(parsing: $0) })
    }

    @Test func candidatesAreTheKindsWatchersAndTheNodesAgent() throws {
        var index = SubscriberIndex()
        index.insert(1, prefix: "/registry/replicas/", filter: try Self.filter(nil))  // a controller: every replica
        index.insert(2, prefix: "/registry/replicas/", filter: try Self.filter("spec.nodeName=n1"))  // agent n1
        index.insert(3, prefix: "/registry/replicas/", filter: try Self.filter("spec.nodeName=n2,status.phase!=Failed"))
        index.insert(4, prefix: "/registry/nodes/", filter: try Self.filter(nil))  // an agent's overlay
        index.insert(5, prefix: "/registry/", filter: try Self.filter(nil))  // everything
        index.insert(6, prefix: "/registry/replicas/p/", filter: try Self.filter(nil))  // one project
        index.insert(7, prefix: "/registry/replicas/", filter: try Self.filter("spec.nodeName="))  // unbound ones
        var asked = 0
        let onN1 = Set(index.candidates(for: "/registry/replicas/p/web-1") { asked += 1; return "n1" })
        #expect(onN1 == [1, 2, 5, 6] && asked == 1)
        #expect(Set(index.candidates(for: "/registry/replicas/q/web-2") { "n2" }) == [1, 3, 5, 6])
        #expect(Set(index.candidates(for: "/registry/replicas/p/new") { "" }) == [1, 5, 6, 7], "an unbound replica")
        asked = 0
        #expect(Set(index.candidates(for: "/registry/nodes/n1") { asked += 1; return "" }) == [4, 5])
        #expect(asked == 0, "no subscriber of nodes requires a node: the object is not read")
        #expect(Set(index.candidates(for: "/leases/nodes/n1") { "" }) == [5], "short prefixes are candidates everywhere; their admission decides")
        index.remove(2)
        index.remove(2)
        #expect(Set(index.candidates(for: "/registry/replicas/p/web-1") { "n1" }) == [1, 5, 6])
        for id in [1, 3, 4, 5, 6, 7] { index.remove(id) }
        #expect(index.count == 0 && index.candidates(for: "/registry/replicas/p/x") { "n1" }.isEmpty)
    }

    @Test func kindSegments() {
        #expect(SubscriberIndex.kindSegment("/registry/replicas/p/web") == "/registry/replicas/")
        #expect(SubscriberIndex.kindSegment("/registry/") == nil)
        #expect(SubscriberIndex.kindSegment("/registry/repl") == nil)
    }
}
