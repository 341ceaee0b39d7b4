import Foundation
import KumoAPI
import KumoModel
import Testing

@testable import KumoServer

/// Instances (VMs) go through the same scheduler and one-write binding as replicas: a node, an address from its
/// subnet and an `02:6b:` MAC, before any agent sees them; their flavor counts against node capacity.
@Suite("Scheduling controller: instances")
struct InstanceSchedulingTests {
    let helper = SchedulingControllerTests()

    func instance(_ name: String, vcpus: Int = 1, memory: String = "256Mi") -> JSONValue {
        ["metadata": ["name": .string(name)], "spec": ["image": "tiny:latest", "vcpus": .number(Double(vcpus)), "memory": .string(memory)]]
    }

    @Test("instances are bound with node, IP and MAC; two on one node get distinct addresses; the flavor uses capacity")
    func bound() async throws {
        try await withServer(configure: { $0.runControllers = true; $0.controllers = ["scheduler"] }) { s in
            try await helper.readyNode(s, "n1", zone: "a", cpu: "8", memory: "1Gi")
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            for name in ["a", "b"] { _ = try await s.admin.create(instance(name, memory: "400Mi"), kind: .instance, project: "p") }
            var items: [JSONValue] = []
            try await eventually("2 bound instances") {
                items = try await s.admin.send(.GET, "/api/v1/projects/p/instances").json()["items"]?.arrayValue ?? []
                return items.filter { $0["spec"]?["network"] != nil }.count == 2
            }
            let ips = Set(items.compactMap { $0["spec"]?["network"]?["ip"]?.stringValue })
            #expect(ips.count == 2)
            #expect(items.allSatisfy { $0["spec"]?["nodeName"] == "n1" && $0["spec"]?["network"]?["mac"]?.stringValue?.hasPrefix("02:6b:") == true })
            #expect(items.allSatisfy { $0["metadata"]?["annotations"]?["kumo.dev/bound-at"]?.stringValue != nil })
            // 800Mi of 1Gi taken: a third 400Mi VM does not fit
            _ = try await s.admin.create(instance("c", memory: "400Mi"), kind: .instance, project: "p")
            var status: JSONValue?
            try await eventually("c Pending") {
                status = try await s.admin.get(.instance, "c", project: "p")["status"]
                return status?["phase"] == "Pending"
            }
            #expect(status?["reason"] == "Unschedulable")
            #expect(status?["message"]?.stringValue?.contains("memory") == true, "\(String(describing: status))")
            #expect(status?["steps"]?.arrayValue?.first?["name"] == "scheduled" && status?["steps"]?.arrayValue?.first?["state"] == "failed")
            let events = try await s.admin.send(.GET, "/api/v1/projects/p/events").json()["items"]?.arrayValue ?? []
            #expect(events.contains { $0["spec"]?["reason"] == "FailedScheduling" })
        }
    }

    @Test("bad instance specs are refused with the field named")
    func badSpecs() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            for (spec, field) in [
                (["image": "tiny", "vcpus": 0] as JSONValue, "spec.vcpus"), (["image": "tiny", "memory": "1Mi"], "spec.memory"),
                (["image": "NOT VALID"], "spec.image"), (["image": "tiny", "sshAuthorizedKeys": ["a\nb"]], "spec.sshAuthorizedKeys[0]"),
            ] {
                do {
                    _ = try await s.admin.create(["metadata": ["name": "x"], "spec": spec], kind: .instance, project: "p")
                    Issue.record("accepted \(spec)")
                } catch let e as KumoError {
                    #expect(e.code == .invalid && e.field == field, "\(e)")
                }
            }
        }
    }
}
