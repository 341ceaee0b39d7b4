import KumoControllers
import KumoModel
import Testing

@Suite("TerminationDeadline: replicas Terminating too long on a Ready node")
struct TerminationDeadlineTests {
    let t0 = Fixtures.t0

    func candidate(_ name: String, node: String = "n1", grace: Int = 10, flagged: Bool = false) -> TerminationDeadline.Candidate {
        .init(
            replica: ObjectReference(kind: .replica, name: name, project: "demo"), node: node, deletedAt: t0,
            gracePeriod: .seconds(grace), flagged: flagged)
    }

    @Test("due only after grace + margin; once; never for a node that is not Ready (evicted instead)")
    func deadline() {
        let all = [candidate("a"), candidate("b", grace: 100), candidate("c", flagged: true), candidate("d", node: "n2")]
        let early = TerminationDeadline(candidates: all, notReady: ["n2"], now: t0 + .seconds(69)).evaluate()
        #expect(early.overdue.isEmpty)
        #expect(early.nextDue == t0 + .seconds(70), "a: 10 s grace + 60 s margin")
        let due = TerminationDeadline(candidates: all, notReady: ["n2"], now: t0 + .seconds(70)).evaluate()
        #expect(due.overdue.map(\.replica.name) == ["a"])
        #expect(due.nextDue == t0 + .seconds(160))
        let a = try! #require(due.overdue.first)
        #expect(a.condition.type == "Terminating")
        #expect(a.condition.status == .true)
        #expect(a.condition.reason == "TerminatingTooLong")
        #expect(a.message.contains("node n1 is Ready"))
        #expect(a.message.contains("kumo state agent/n1"))
        #expect(a.message.contains("70s"))
    }

    @Test("a replica being deleted and bound is a candidate; its grace defaults to the agent's")
    func fromReplica() throws {
        var r = Replica(
            metadata: ObjectMeta(name: "r", project: "demo"), spec: ReplicaSpec(image: "busybox:1", nodeName: "n1"))
        #expect(TerminationDeadline.Candidate(r) == nil, "not being deleted")
        r.metadata.deletionTimestamp = t0.rfc3339
        let c = try #require(TerminationDeadline.Candidate(r))
        #expect(c.gracePeriod == .seconds(ReplicaSpec.defaultTerminationGracePeriodSeconds))
        #expect(c.flagged == false)
        r.spec.nodeName = nil
        #expect(TerminationDeadline.Candidate(r) == nil, "unbound replicas are deleted at once")
    }
}
