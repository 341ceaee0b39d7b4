import KumoModel
import Testing

@testable import KumoServer

@Suite("FieldOwnership: the pure rules")
struct FieldOwnershipTests {
    let old: JSONValue = [
        "metadata": ["name": "n1", "labels": ["a": "1", "b": "2"], "annotations": ["x": "y"]],
        "spec": ["podCIDR": "10.244.1.0/24", "unschedulable": false],
        "status": ["overlay": ["publicIP": "192.0.2.1", "vtepMAC": "02:00:00:00:00:01"]],
    ]
    let owners = [
        "metadata.labels.a": "admin", "metadata.labels.b": "admin/other", "metadata.annotations.x": "admin/other",
        "spec.podCIDR": "ipam", "spec.unschedulable": "admin", "status.overlay": "node/n1",
    ]

    @Test("changing only your own fields is fine and keeps others' owners")
    func ownFields() {
        var new = old
        new["metadata"]?["labels"]?["a"] = "9"
        new["spec"]?["unschedulable"] = true
        let o = FieldOwnership(old: old, new: new, owners: owners, manager: "admin", force: false)
        #expect(o.conflicts.isEmpty)
        #expect(o.owners == owners)
    }

    @Test("dropping or changing another manager's field is a conflict naming it")
    func conflicts() {
        var new = old
        new["metadata"]?["annotations"] = nil
        new["spec"]?["podCIDR"] = "10.244.2.0/24"
        let o = FieldOwnership(old: old, new: new, owners: owners, manager: "admin", force: false)
        #expect(
            o.conflicts == [
                .init(field: "metadata.annotations.x", owner: "admin/other"), .init(field: "spec.podCIDR", owner: "ipam"),
            ])
    }

    @Test("force transfers ownership and reports it; removed fields lose their entry")
    func force() {
        var new = old
        new["metadata"]?["annotations"] = nil
        new["spec"]?["podCIDR"] = "10.244.2.0/24"
        let o = FieldOwnership(old: old, new: new, owners: owners, manager: "admin", force: true)
        #expect(o.conflicts.isEmpty)
        #expect(o.transfers.map(\.field) == ["metadata.annotations.x", "spec.podCIDR"])
        #expect(o.owners["spec.podCIDR"] == "admin")
        #expect(o.owners["metadata.annotations.x"] == nil)
    }

    @Test("new fields belong to their writer; sub-names are distinct managers")
    func newFieldsAndSubnames() {
        var new = old
        new["metadata"]?["labels"]?["c"] = "3"
        let o = FieldOwnership(old: old, new: new, owners: owners, manager: "admin/tool", force: false)
        #expect(o.owners["metadata.labels.c"] == "admin/tool")
        var change = old
        change["metadata"]?["labels"]?["a"] = "2"
        let c = FieldOwnership(old: old, new: change, owners: owners, manager: "admin/tool", force: false)
        #expect(c.conflicts.map(\.owner) == ["admin"])
    }

    @Test("apply removes fields the manager applied before and leaves out now")
    func applied() {
        let applied: JSONValue = ["metadata": ["name": "n1", "labels": ["a": "1"]], "spec": [:]]
        let result = FieldOwnership.applied(applied, over: old, owners: owners, manager: "admin")
        #expect(result["metadata"]?["labels"] == ["a": "1", "b": "2"])  // b is admin/other's
        #expect(result["spec"]?["unschedulable"] == nil)  // admin's, not applied any more
        #expect(result["spec"]?["podCIDR"] == "10.244.1.0/24")  // ipam's
        #expect(result["status"] == old["status"])
    }
}

@Suite("Authorizer and identities")
struct AuthorizerTests {
    @Test("project tokens: own project only; view reads; images readable; nodes not")
    func rules() throws {
        let edit = Identity(name: "token/e", role: .project("a", .edit))
        let view = Identity(name: "token/v", role: .project("a", .view))
        try Authorizer.authorize(edit, .create, .workload, project: "a", name: nil)
        try Authorizer.authorize(view, .list, .workload, project: "a", name: nil)
        try Authorizer.authorize(view, .get, .image, project: nil, name: "busybox")
        try Authorizer.authorize(view, .get, .project, project: nil, name: "a")
        #expect(throws: KumoError.self) { try Authorizer.authorize(view, .create, .workload, project: "a", name: nil) }
        #expect(throws: KumoError.self) { try Authorizer.authorize(edit, .get, .workload, project: "b", name: "x") }
        #expect(throws: KumoError.self) { try Authorizer.authorize(edit, .list, .workload, project: nil, name: nil) }
        #expect(throws: KumoError.self) { try Authorizer.authorize(edit, .list, .node, project: nil, name: nil) }
        #expect(throws: KumoError.self) { try Authorizer.authorize(edit, .delete, .project, project: nil, name: "a") }
        #expect(throws: KumoError.self) { try Authorizer.authorize(edit, .create, .image, project: nil, name: "x") }
        try Authorizer.authorize(.admin, .delete, .node, project: nil, name: "n1")
    }

    @Test("?manager= may add a sub-name, never impersonate")
    func managers() throws {
        #expect(try Identity.admin.manager(requested: nil) == "admin")
        #expect(try Identity.admin.manager(requested: "admin/alpha") == "admin/alpha")
        #expect(throws: KumoError.self) { try Identity.admin.manager(requested: "scheduler") }
        #expect(throws: KumoError.self) { try Identity.admin.manager(requested: "administrator") }
        #expect(throws: KumoError.self) { try Identity.admin.manager(requested: "admin/") }
        #expect(throws: KumoError.self) { try Identity.admin.manager(requested: "admin/a b") }
    }
}

@Suite("Store keys")
struct StoreKeyTests {
    @Test("object keys round-trip; image names with slashes keep separate histories")
    func keys() {
        let refs = [
            ObjectRef(.node, name: "n1"), ObjectRef(.workload, project: "p", name: "web"),
            ObjectRef(.event, name: "n1.abc"), ObjectRef(.event, project: "p", name: "web.x"),
            ObjectRef(.image, name: "library/busybox"),
        ]
        for ref in refs { #expect(ObjectRef.parse(storeKey: ref.storeKey) == ref, "\(ref)") }
        let a = ObjectRef(.image, name: "library").historyPrefix
        let b = ObjectRef(.image, name: "library/busybox").historyPrefix
        #expect(!b.hasPrefix(a))
    }
}
