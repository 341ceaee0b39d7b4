import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: graceful deletion is never taken back")
struct GracefulDeletionTests {
    @Test("a replica deleted (marked Terminating) before the scheduler's binding lands stays deleted after the bind")
    func bindKeepsARequestedDeletion() async throws {
        try await withServer { s in
            try await s.projectAndNode()
            // pinned by its creator: the binding (an address) comes later
            _ = try await s.admin.create(Sample.pinned(Sample.replica("r1"), to: "n1"), kind: .replica, project: "p")
            let marked = try await s.admin.send(.DELETE, "/api/v1/projects/p/replicas/r1").json()
            let requested = try #require(marked["metadata"]?["deletionTimestamp"])
            // what the scheduler does next, having read the replica before the delete (CI saw this race: the
            // deletion vanished, the replica stayed "Terminating" with no deadline, never flagged, never removed)
            let bound = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "r1"), toNode: "n1")
            #expect(bound.object["spec"]?["network"] != nil)
            #expect(bound.object["metadata"]?["deletionTimestamp"] == requested)
            let stored = try await s.admin.get(.replica, "r1", project: "p")
            #expect(stored["metadata"]?["deletionTimestamp"] == requested)
            #expect(stored["status"]?["phase"] == "Terminating")
        }
    }
}
