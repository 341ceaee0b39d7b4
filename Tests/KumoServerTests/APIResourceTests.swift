import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

@Suite("API: objects over real HTTP")
struct APIResourceTests {
    @Test("every kind can be created, read, listed, replaced, patched and deleted")
    func crudEveryKind() async throws {
        try await withServer { s in
            let api = s.admin
            _ = try await api.create(Sample.project("p1"), kind: .project)
            let samples: [(Kind, String?, JSONValue)] = [
                (.node, nil, Sample.node("n1")),
                (.image, nil, Sample.image("library/busybox")),
                (.workload, "p1", Sample.workload("web")),
                (.replica, "p1", Sample.replica("web-1")),
                (.instance, "p1", Sample.instance("vm1")),
                (.service, "p1", Sample.service("web")),
                (.secret, "p1", Sample.secret("db")),
            ]
            for (kind, project, object) in samples {
                let name = object["metadata"]!["name"]!.stringValue!
                let created = try await api.create(object, kind: kind, project: project)
                #expect(created["metadata"]?["uid"]?.stringValue?.isEmpty == false, "\(kind)")
                #expect(created["metadata"]?["project"]?.stringValue == project, "\(kind)")
                let rv = created["metadata"]?["resourceVersion"]?.stringValue
                #expect(rv != nil)
                let got = try await api.get(kind, name, project: project)
                #expect(got == created, "\(kind) read back as created")
                let list = try await api.send(.GET, APIPaths.collection(kind, project: project)).json()
                #expect(list["items"]?.arrayValue?.count == 1, "\(kind) listed")
                // PUT with the right resourceVersion
                var replaced = got
                replaced["metadata"]?["labels"] = ["changed": "yes"]
                let put = try await api.send(
                    .PUT, APIPaths.object(kind, project: project, name: name), body: replaced.serialized()
                ).json()
                #expect(put["metadata"]?["labels"]?["changed"] == "yes", "\(kind) replaced")
                #expect(put["metadata"]?["resourceVersion"] != got["metadata"]?["resourceVersion"])
                let patched = try await api.mergePatch(kind, name, project: project, ["metadata": ["annotations": ["a": "b"]]])
                #expect(patched["metadata"]?["annotations"]?["a"] == "b", "\(kind) patched")
                #expect(patched["metadata"]?["labels"]?["changed"] == "yes", "merge patch keeps other fields")
                _ = try await api.send(.DELETE, APIPaths.object(kind, project: project, name: name))
                let gone = await kumoError { _ = try await api.get(kind, name, project: project) }
                #expect(gone?.code == .notFound, "\(kind) deleted")
            }
        }
    }

    @Test("lists page with limit and continue, and filter by label and field selectors")
    func listPagingAndSelectors() async throws {
        try await withServer { s in
            for i in 0..<7 {
                _ = try await s.admin.create(Sample.node("n\(i)", labels: ["zone": i % 2 == 0 ? "a" : "b"]), kind: .node)
            }
            var names: [String] = []
            var token: String? = nil
            var pages = 0
            repeat {
                var q: [(String, String)] = [("limit", "3")]
                if let token { q.append(("continue", token)) }
                let page = try await s.admin.send(.GET, "/api/v1/nodes", query: q).json()
                names += page["items"]!.arrayValue!.map { $0["metadata"]!["name"]!.stringValue! }
                token = page["metadata"]?["continue"]?.stringValue
                #expect(page["metadata"]?["revision"]?.stringValue != nil)
                pages += 1
            } while token != nil
            #expect(pages == 3)
            #expect(names == (0..<7).map { "n\($0)" })

            let zoneA = try await s.admin.send(.GET, "/api/v1/nodes", query: [("labelSelector", "zone=a")]).json()
            #expect(zoneA["items"]?.arrayValue?.count == 4)
            let notA = try await s.admin.send(.GET, "/api/v1/nodes", query: [("labelSelector", "zone!=a")]).json()
            #expect(notA["items"]?.arrayValue?.count == 3)
            let byName = try await s.admin.send(.GET, "/api/v1/nodes", query: [("fieldSelector", "metadata.name=n3")]).json()
            #expect(byName["items"]?.arrayValue?.map { $0["metadata"]!["name"]! } == ["n3"])
            let filteredPage = try await s.admin.send(
                .GET, "/api/v1/nodes", query: [("labelSelector", "zone=b"), ("limit", "2")]
            ).json()
            #expect(filteredPage["items"]?.arrayValue?.count == 2)
            #expect(filteredPage["metadata"]?["continue"] != nil)
        }
    }

    @Test("a stale resourceVersion is refused with 409, the current one accepted")
    func optimisticConcurrency() async throws {
        try await withServer { s in
            let created = try await s.admin.create(Sample.node("n1"), kind: .node)
            let rv = created["metadata"]!["resourceVersion"]!.stringValue!
            _ = try await s.admin.mergePatch(.node, "n1", ["metadata": ["labels": ["x": "1"]]])
            var stale = created
            stale["metadata"]?["labels"] = ["x": "2"]
            let (status, body) = try await s.raw(.PUT, "/api/v1/nodes/n1", body: stale.serialized())
            #expect(status == 409)
            #expect(body?["error"]?["code"] == "conflict")
            #expect(body?["error"]?["field"] == "metadata.resourceVersion")
            let patchStale = try await s.raw(
                .PATCH, "/api/v1/nodes/n1", body: JSONValue.object(["metadata": ["resourceVersion": .string(rv)]]).serialized(),
                contentType: mergePatchContentType)
            #expect(patchStale.status == 409)
            let current = try await s.admin.get(.node, "n1")
            var fresh = current
            fresh["metadata"]?["labels"] = ["x": "3"]
            let ok = try await s.raw(.PUT, "/api/v1/nodes/n1", body: fresh.serialized())
            #expect(ok.status == 200)
            #expect(ok.json?["metadata"]?["labels"]?["x"] == "3")
        }
    }

    @Test("deleting a project that holds objects is refused unless cascade")
    func projectCascade() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("shop"), kind: .project)
            _ = try await s.admin.create(Sample.workload("web"), kind: .workload, project: "shop")
            _ = try await s.admin.create(Sample.secret("db"), kind: .secret, project: "shop")
            let refused = try await s.raw(.DELETE, "/api/v1/projects/shop")
            #expect(refused.status == 409)
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("workloads") == true)
            #expect(try await s.admin.get(.workload, "web", project: "shop")["metadata"] != nil, "nothing was lost")
            let cascaded = try await s.raw(.DELETE, "/api/v1/projects/shop?cascade=true")
            #expect(cascaded.status == 200)
            let wl = await kumoError { _ = try await s.admin.get(.workload, "web", project: "shop") }
            #expect(wl?.code == .notFound)
            let p = await kumoError { _ = try await s.admin.get(.project, "shop") }
            #expect(p?.code == .notFound)
            // objects cannot be created in a project that does not exist
            let orphan = await kumoError { _ = try await s.admin.create(Sample.workload("w"), kind: .workload, project: "shop") }
            #expect(orphan?.code == .notFound)
            #expect(orphan?.field == "metadata.project")
        }
    }

    @Test("PUT without status keeps the status another component wrote")
    func putKeepsStatus() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            _ = try await s.admin.mergePatch(.node, "n1", ["status": ["agentURL": "http://192.0.2.10:7481"]], query: [("manager", "admin/agent")])
            var obj = try await s.admin.get(.node, "n1")
            obj["status"] = nil
            obj["metadata"]?["labels"] = ["role": "edge"]
            let put = try await s.admin.send(.PUT, "/api/v1/nodes/n1", body: obj.serialized()).json()
            #expect(put["status"]?["agentURL"] == "http://192.0.2.10:7481")
            #expect(put["metadata"]?["labels"]?["role"] == "edge")
        }
    }
}

@Suite("API: node subnets (IPAM)")
struct NodeSubnetTests {
    @Test("each new node gets its own /24 owned by ipam, also under concurrent registration; delete frees it")
    func subnets() async throws {
        try await withServer { s in
            try await withThrowingTaskGroup(of: Void.self) { g in
                for i in 0..<20 { g.addTask { _ = try await s.admin.create(Sample.node("n\(i)"), kind: .node) } }
                try await g.waitForAll()
            }
            let nodes = try await s.admin.send(.GET, "/api/v1/nodes").json()["items"]!.arrayValue!
            let cidrs = nodes.compactMap { $0["spec"]?["podCIDR"]?.stringValue }
            #expect(cidrs.count == 20)
            #expect(Set(cidrs).count == 20, "no subnet handed out twice")
            #expect(cidrs.allSatisfy { $0.hasPrefix("10.244.") && $0.hasSuffix(".0/24") })
            #expect(nodes.allSatisfy { $0["metadata"]?["managedFields"]?["spec.podCIDR"] == "ipam" })
            // the admin cannot silently move a node's subnet
            let moved = await kumoError {
                _ = try await s.admin.mergePatch(.node, "n0", ["spec": ["podCIDR": "10.244.200.0/24"]])
            }
            #expect(moved?.code == .ownershipConflict)
            // a freed subnet can be handed out again: the next node gets the lowest free one
            let n3 = try await s.admin.get(.node, "n3")["spec"]!["podCIDR"]!.stringValue!
            _ = try await s.admin.send(.DELETE, "/api/v1/nodes/n3")
            let remaining = Set(
                try await s.admin.send(.GET, "/api/v1/nodes").json()["items"]!.arrayValue!
                    .compactMap { $0["spec"]?["podCIDR"]?.stringValue }.compactMap(IPv4Network.init))
            #expect(!remaining.contains(IPv4Network(n3)!))
            let lowestFree = IPAM(cluster: IPv4Network("10.244.0.0/16")!).nextNodeSubnet(used: remaining)
            let again = try await s.admin.create(Sample.node("fresh"), kind: .node)
            #expect(again["spec"]?["podCIDR"]?.stringValue == lowestFree?.description)
            // asking for a taken or foreign subnet is refused
            let taken = await kumoError {
                _ = try await s.admin.create(
                    ["metadata": ["name": "x"], "spec": ["podCIDR": again["spec"]!["podCIDR"]!]], kind: .node)
            }
            #expect(taken?.code == .conflict)
            let foreign = await kumoError {
                _ = try await s.admin.create(["metadata": ["name": "y"], "spec": ["podCIDR": "192.168.0.0/24"]], kind: .node)
            }
            #expect(foreign?.code == .invalid)
            #expect(foreign?.field == "spec.podCIDR")
        }
    }
}

@Suite("Binding replicas to nodes (IPAM addresses)")
struct BindingTests {
    @Test("concurrent binds get distinct addresses in the node's subnet in one write; delete releases them")
    func concurrentBinds() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            let node = try await s.admin.create(Sample.node("n1"), kind: .node)
            let subnet = try #require(IPv4Network(node["spec"]!["podCIDR"]!.stringValue!))
            for i in 0..<40 { _ = try await s.admin.create(Sample.replica("r\(i)"), kind: .replica, project: "p") }
            let resources = s.server.core.resources
            try await withThrowingTaskGroup(of: Void.self) { g in
                for i in 0..<40 {
                    g.addTask { _ = try await resources.bind(ObjectRef(.replica, project: "p", name: "r\(i)"), toNode: "n1") }
                }
                try await g.waitForAll()
            }
            let replicas = try await s.admin.send(.GET, "/api/v1/projects/p/replicas").json()["items"]!.arrayValue!
            let ips = replicas.compactMap { $0["spec"]?["network"]?["ip"]?.stringValue }
            #expect(ips.count == 40)
            #expect(Set(ips).count == 40, "no address handed out twice")
            #expect(ips.allSatisfy { subnet.contains(IPv4Address($0)!) })
            #expect(replicas.allSatisfy { $0["spec"]?["nodeName"] == "n1" })
            let first = replicas[0]
            #expect(first["spec"]?["network"]?["mac"]?.stringValue == IPv4Address(first["spec"]!["network"]!["ip"]!.stringValue!)!.mac())
            #expect(first["metadata"]?["managedFields"]?["spec.network"] == "ipam")
            #expect(first["metadata"]?["managedFields"]?["spec.nodeName"] == "scheduler")
            let history = try await s.admin.send(.GET, "/api/v1/projects/p/replicas/r0/history").decode(HistoryList.self)
            #expect(history.items.map(\.operation) == ["create", "bind"])
            // binding elsewhere is refused; binding again to the same node changes nothing
            let elsewhere = await kumoError { _ = try await resources.bind(ObjectRef(.replica, project: "p", name: "r0"), toNode: "n2") }
            #expect(elsewhere?.code == .conflict)
            // deleting releases the address for reuse — only once the object is gone: a graceful deletion keeps
            // it while the replica is stopping
            let freed = try #require(ips.first)
            let holder = try #require(replicas.first { $0["spec"]?["network"]?["ip"]?.stringValue == freed })
            let path = "/api/v1/projects/p/replicas/\(holder["metadata"]!["name"]!.stringValue!)"
            _ = try await s.admin.send(.DELETE, path)
            #expect(try await s.server.core.store.get(IPAMRecords.addressKey(IPv4Address(freed)!)) != nil)
            _ = try await s.admin.send(.DELETE, path, query: [("force", "true")])
            #expect(try await s.server.core.store.get(IPAMRecords.addressKey(IPv4Address(freed)!)) == nil)
            // a forced address change moves the record: the new address is taken, the old one free again; an
            // address another replica holds is refused, naming it
            let mover = try #require(replicas.first { $0["spec"]?["network"]?["ip"]?.stringValue != freed })
            let moverName = try #require(mover["metadata"]?["name"]?.stringValue)
            let oldIP = try #require(mover["spec"]?["network"]?["ip"]?.stringValue)
            let moved = try await s.admin.send(
                .PATCH, "/api/v1/projects/p/replicas/\(moverName)", query: [("force", "true")],
                body: JSONValue.object(["spec": ["network": ["ip": .string(freed), "mac": .string(IPv4Address(freed)!.mac())]]]).serialized(),
                contentType: "application/merge-patch+json")
            #expect(moved.status == 200)
            #expect(try await s.server.core.store.get(IPAMRecords.addressKey(IPv4Address(freed)!)) != nil)
            #expect(try await s.server.core.store.get(IPAMRecords.addressKey(IPv4Address(oldIP)!)) == nil)
            let taken = try #require(ips.first { $0 != freed && $0 != oldIP })
            let refused = await kumoError {
                _ = try await s.admin.send(
                    .PATCH, "/api/v1/projects/p/replicas/\(moverName)", query: [("force", "true")],
                    body: JSONValue.object(["spec": ["network": ["ip": .string(taken), "mac": .string(IPv4Address(taken)!.mac())]]]).serialized(),
                    contentType: "application/merge-patch+json")
            }
            #expect(refused?.code == .conflict)
            #expect(refused?.message.contains("address \(taken) is already held by") == true, "\(refused?.message ?? "")")
        }
    }
}
