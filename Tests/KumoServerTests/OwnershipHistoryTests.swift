import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: field ownership and history")
struct OwnershipHistoryTests {
    /// The incident: one component replaced node annotations wholesale and dropped another's.
    @Test("replacing another manager's annotation is refused, naming the owner; merge patch beside it is fine")
    func annotationsIncident() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            // the overlay (manager admin/overlay) publishes its annotation
            _ = try await s.admin.mergePatch(
                .node, "n1", ["metadata": ["annotations": ["kumo.dev/vtep": "02:aa"]]], query: [("manager", "admin/overlay")])
            // another component (admin/labeler) PUTs the annotations wholesale, dropping the overlay's
            var obj = try await s.admin.get(.node, "n1")
            obj["metadata"]?["annotations"] = ["kumo.dev/rack": "r1"]
            let (status, body) = try await s.raw(.PUT, "/api/v1/nodes/n1?manager=admin/labeler", body: obj.serialized())
            #expect(status == 409)
            #expect(body?["error"]?["code"] == "ownership_conflict")
            #expect(body?["error"]?["field"] == "metadata.annotations.kumo.dev/vtep")
            #expect(body?["error"]?["message"]?.stringValue?.contains("admin/overlay") == true)
            #expect(try await s.admin.get(.node, "n1")["metadata"]?["annotations"]?["kumo.dev/vtep"] == "02:aa", "not lost")
            // a merge patch that leaves it alone is fine
            let ok = try await s.admin.mergePatch(
                .node, "n1", ["metadata": ["annotations": ["kumo.dev/rack": "r1"]]], query: [("manager", "admin/labeler")])
            #expect(ok["metadata"]?["annotations"]?["kumo.dev/vtep"] == "02:aa")
            #expect(ok["metadata"]?["managedFields"]?["metadata.annotations.kumo.dev/rack"] == "admin/labeler")
            #expect(ok["metadata"]?["managedFields"]?["metadata.annotations.kumo.dev/vtep"] == "admin/overlay")
            // changing the owned value by patch is also refused …
            let changed = await kumoError {
                _ = try await s.admin.mergePatch(
                    .node, "n1", ["metadata": ["annotations": ["kumo.dev/vtep": "02:bb"]]], query: [("manager", "admin/labeler")])
            }
            #expect(changed?.code == .ownershipConflict)
            // … unless forced: ownership moves and the move is recorded in history and as an event
            let forced = try await s.admin.mergePatch(
                .node, "n1", ["metadata": ["annotations": ["kumo.dev/vtep": "02:bb"]]],
                query: [("manager", "admin/labeler"), ("force", "true")])
            #expect(forced["metadata"]?["managedFields"]?["metadata.annotations.kumo.dev/vtep"] == "admin/labeler")
            let history = try await s.admin.send(.GET, "/api/v1/nodes/n1/history").decode(HistoryList.self)
            let last = try #require(history.items.last)
            #expect(last.forced == [.init(field: "metadata.annotations.kumo.dev/vtep", previousOwner: "admin/overlay")])
            let events = try await s.admin.send(.GET, "/api/v1/events").json()
            let reasons = events["items"]?.arrayValue?.compactMap { $0["spec"]?["reason"]?.stringValue }
            #expect(reasons == ["OwnershipForced"])
        }
    }

    @Test("spec and status fields are owned per top-level field")
    func specAndStatusOwnership() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.workload("web", replicas: 2), kind: .workload, project: "p")
            // the autoscaler may not silently take replicas from the creator …
            let taken = await kumoError {
                _ = try await s.admin.mergePatch(
                    .workload, "web", project: "p", ["spec": ["replicas": 5]], query: [("manager", "admin/autoscaler")])
            }
            #expect(taken?.code == .ownershipConflict)
            // … it takes the field over explicitly
            _ = try await s.admin.mergePatch(
                .workload, "web", project: "p", ["spec": ["replicas": 5]],
                query: [("manager", "admin/autoscaler"), ("force", "true")])
            // the creator changing the image (its own field) is fine
            var obj = try await s.admin.get(.workload, "web", project: "p")
            obj["spec"]?["template"]?["spec"]?["image"] = "busybox:1.37"
            let put = try await s.raw(.PUT, "/api/v1/projects/p/workloads/web", body: obj.serialized())
            #expect(put.status == 200)
            // but setting replicas back would change the autoscaler's field
            obj = try await s.admin.get(.workload, "web", project: "p")
            obj["spec"]?["replicas"] = 2
            let conflict = try await s.raw(.PUT, "/api/v1/projects/p/workloads/web", body: obj.serialized())
            #expect(conflict.status == 409)
            #expect(conflict.json?["error"]?["field"] == "spec.replicas")
        }
    }

    @Test("server-side apply removes what this manager stopped applying and keeps others' fields")
    func applySemantics() async throws {
        try await withServer { s in
            let v1: JSONValue = [
                "apiVersion": "kumo/v1", "kind": "Node",
                "metadata": ["name": "n1", "labels": ["a": "1", "b": "2"]], "spec": ["unschedulable": true],
            ]
            let path = "/api/v1/nodes/n1"
            let created = try await s.raw(.PATCH, path, body: v1.serialized(), contentType: applyPatchContentType)
            #expect(created.status == 201)
            _ = try await s.admin.mergePatch(.node, "n1", ["metadata": ["labels": ["other": "x"]]], query: [("manager", "admin/other")])
            let v2: JSONValue = ["apiVersion": "kumo/v1", "kind": "Node", "metadata": ["name": "n1", "labels": ["a": "1"]], "spec": [:]]
            let applied = try await s.raw(.PATCH, path, body: v2.serialized(), contentType: applyPatchContentType)
            #expect(applied.status == 200)
            let labels = applied.json?["metadata"]?["labels"]
            #expect(labels == ["a": "1", "other": "x"], "b dropped, other's label kept")
            #expect(applied.json?["spec"]?["unschedulable"] == nil, "field no longer applied is removed")
            // applying the same again changes nothing: no new history record
            let before = try await s.admin.send(.GET, path + "/history").decode(HistoryList.self).items.count
            let again = try await s.raw(.PATCH, path, body: v2.serialized(), contentType: applyPatchContentType)
            #expect(again.status == 200)
            let after = try await s.admin.send(.GET, path + "/history").decode(HistoryList.self).items.count
            #expect(before == after)
        }
    }

    @Test("history keeps every change with revision, manager and RFC 6902 patch, across restarts")
    func historySurvivesRestart() async throws {
        let s = try await TestServer.start()
        _ = try await s.admin.create(Sample.node("n1"), kind: .node)
        _ = try await s.admin.mergePatch(.node, "n1", ["metadata": ["labels": ["zone": "a"]]], query: [("manager", "admin/zoner")])
        _ = try await s.admin.mergePatch(.node, "n1", ["spec": ["unschedulable": true]])
        _ = try await s.admin.send(.DELETE, "/api/v1/nodes/n1")
        await s.stop()
        let r = try await TestServer.start(dir: s.dir)
        let history = try await r.admin.send(.GET, "/api/v1/nodes/n1/history").decode(HistoryList.self)
        await r.finish()
        #expect(history.items.map(\.operation) == ["create", "patch", "patch", "delete"])
        #expect(history.items.map(\.manager) == ["admin", "admin/zoner", "admin", "admin"])
        let revisions = history.items.compactMap(\.revision)
        #expect(revisions == revisions.sorted() && Set(revisions).count == 4)
        #expect(history.items[1].patch == [JSONPatchOperation(op: .add, path: "/metadata/labels", value: ["zone": "a"])])
        #expect(history.items[2].patch == [JSONPatchOperation(op: .replace, path: "/spec/unschedulable", value: true)])
        #expect(history.items[3].patch == [JSONPatchOperation(op: .remove, path: "")])
    }

    @Test("retention trims history by count and age, and expires events")
    func retention() async throws {
        try await withServer(configure: { $0.historyMaxPerObject = 3; $0.eventTTL = .seconds(3600) }) { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            for i in 0..<5 { _ = try await s.admin.mergePatch(.node, "n1", ["metadata": ["labels": ["i": .string("\(i)")]]]) }
            let event = EventFactory.make(
                regarding: ObjectRef(.node, name: "n1"), reason: "Old", source: "test", message: "long ago",
                now: "2020-01-01T00:00:00.000Z")
            _ = try await s.server.core.store.commit(.init(compares: [], operations: [.put(event.key, event.bytes)]))
            await RetentionService(core: s.server.core).runOnce()
            let h = try await s.admin.send(.GET, "/api/v1/nodes/n1/history").decode(HistoryList.self)
            #expect(h.items.count == 3)
            #expect(h.items.last?.patch.first?.value == "4", "the newest are kept")
            let events = try await s.admin.send(.GET, "/api/v1/events").json()
            #expect(events["items"]?.arrayValue?.isEmpty == true)
        }
    }
}
