import Foundation
import KumoAPI
import KumoModel
import NIOHTTP1
import Testing

import KumoControllers

@testable import KumoServer

/// Services through the API: VIPs from the service CIDR (owned by `ipam`, never handed out twice, fixed for the
/// service's life, freed on delete), external ports unique with the owner named, bad selectors 422; and the
/// endpoints controller over a real server with simulated agents.
@Suite("Services: VIPs, external ports, endpoints", .serialized)
struct ServiceAPITests {
    static func service(_ name: String, selector: [String: JSONValue] = ["app": "web"], clusterIP: String? = nil, external: Int? = nil) -> JSONValue {
        var spec: [String: JSONValue] = ["selector": .object(selector), "ports": [["port": 80, "targetPort": 8080, "protocol": "HTTP"]]]
        if let clusterIP { spec["clusterIP"] = .string(clusterIP) }
        if let external { spec["external"] = ["port": .number(Double(external))] }
        return ["apiVersion": "kumo/v1", "kind": "Service", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    func status(_ s: TestServer, _ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> (Int, JSONValue?) {
        try await s.raw(method, path, body: body?.serialized(), contentType: method == .PATCH ? "application/merge-patch+json" : "application/json")
    }

    @Test func vipsAndExternalPorts() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p1"), kind: .project)
            let a = try await s.admin.create(Self.service("a", external: 30080), kind: .service, project: "p1")
            #expect(a["spec"]?["clusterIP"] == "10.96.0.2", "the first assignable VIP")
            #expect(a["metadata"]?["managedFields"]?["spec.clusterIP"] == "ipam")
            let b = try await s.admin.create(Self.service("b"), kind: .service, project: "p1")
            #expect(b["spec"]?["clusterIP"] == "10.96.0.3")

            // an asked-for VIP: inside the CIDR and free
            let (taken, takenBody) = try await status(s, .POST, "/api/v1/projects/p1/services", Self.service("c", clusterIP: "10.96.0.2"))
            #expect(taken == 409)
            #expect(takenBody?["error"]?["message"]?.stringValue?.contains("already used by service p1/a") == true)
            let (outside, outsideBody) = try await status(s, .POST, "/api/v1/projects/p1/services", Self.service("c", clusterIP: "10.97.0.1"))
            #expect(outside == 422)
            #expect(outsideBody?["error"]?["field"] == "spec.clusterIP")
            let c = try await s.admin.create(Self.service("c", clusterIP: "10.96.7.7"), kind: .service, project: "p1")
            #expect(c["spec"]?["clusterIP"] == "10.96.7.7")

            // the VIP stays: a PUT without it keeps it, another value is refused
            let put = try await s.admin.send(.PUT, "/api/v1/projects/p1/services/b", body: Self.service("b", selector: ["app": "api"]).serialized()).json()
            #expect(put["spec"]?["clusterIP"] == "10.96.0.3")
            #expect(put["spec"]?["selector"]?["app"] == "api")
            let (moved, _) = try await status(s, .PATCH, "/api/v1/projects/p1/services/b", ["spec": ["clusterIP": "10.96.0.9"]])
            #expect(moved == 409 || moved == 422, "changing the VIP is refused (\(moved))")

            // external ports: one owner, named when refused
            let (dup, dupBody) = try await status(s, .POST, "/api/v1/projects/p1/services", Self.service("d", external: 30080))
            #expect(dup == 409)
            #expect(dupBody?["error"]?["message"]?.stringValue?.contains("already published by service p1/a") == true)
            #expect(dupBody?["error"]?["field"] == "spec.external.port")
            #expect(try await s.raw(.GET, "/api/v1/projects/p1/services/d").status == 404, "nothing half-created")
            _ = try await s.admin.mergePatch(.service, "b", project: "p1", ["spec": ["external": ["port": 30081]]])
            let (steal, stealBody) = try await status(s, .PATCH, "/api/v1/projects/p1/services/b", ["spec": ["external": ["port": 30080]]])
            #expect(steal == 409)
            #expect(stealBody?["error"]?["message"]?.stringValue?.contains("p1/a") == true)

            // delete frees the VIP and the port
            _ = try await s.admin.send(.DELETE, "/api/v1/projects/p1/services/a")
            let d = try await s.admin.create(Self.service("d", external: 30080), kind: .service, project: "p1")
            #expect(d["spec"]?["clusterIP"] == "10.96.0.2", "a's VIP is free again")

            // invalid selector → 422 naming the field
            let (bad, badBody) = try await status(s, .POST, "/api/v1/projects/p1/services", Self.service("e", selector: ["app": "not valid!"]))
            #expect(bad == 422)
            #expect(badBody?["error"]?["field"] == "spec.selector.app")
        }
    }

    @Test func endpointsFollowReadyReplicas() async throws {
        try await withServer(configure: {
            $0.runControllers = true
            $0.controllers = ["scheduler", "workloads", "node-lifecycle", "endpoints"]
        }) { s in
            for n in ["n1", "n2"] { try await SimulatedAgents.register(n, with: s.admin) }
            let agents = SimulatedAgents(s.admin) { ["n1", "n2"] }
            defer { agents.task.cancel() }
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Self.service("web"), kind: .service, project: "p")
            _ = try await s.admin.create(Self.service("none", selector: ["app": "none"]), kind: .service, project: "p")
            _ = try await s.admin.create(Sample.workload("web", replicas: 3), kind: .workload, project: "p")
            var generation = 0.0
            try await eventually("3 endpoints") {
                let svc = try await s.admin.get(.service, "web", project: "p")
                generation = svc["status"]?["generation"]?.numberValue ?? 0
                let eps = svc["status"]?["endpoints"]?.arrayValue ?? []
                return eps.count == 3 && eps.allSatisfy { $0["node"]?.stringValue != nil && $0["ip"]?.stringValue?.hasPrefix("10.244.") == true }
                    && svc["status"]?["reason"] == "Ready"
            }
            _ = try await s.admin.mergePatch(.workload, "web", project: "p", ["spec": ["replicas": 1]])
            try await eventually("1 endpoint, newer generation") {
                let svc = try await s.admin.get(.service, "web", project: "p")
                return svc["status"]?["endpoints"]?.arrayValue?.count == 1 && (svc["status"]?["generation"]?.numberValue ?? 0) > generation
            }
            let none = try await s.admin.get(.service, "none", project: "p")
            #expect(none["status"]?["reason"] == "NoEndpoints")
            #expect(none["metadata"]?["managedFields"]?["status.endpoints"] == "endpoints")
        }
    }

    @Test func loadFromEveryNodeAddsUp() {
        func dump(_ rps: Double, queue: Int, ms: Double) -> JSONValue {
            [
                "services": [
                    [
                        "service": "p/web",
                        "ports": [["requestsPerSecond": .number(rps), "queue": .number(Double(queue)), "avgResponseMs": .number(ms)]],
                    ]
                ]
            ]
        }
        let loads = AgentLoadBalancerMetrics.aggregate([dump(10, queue: 2, ms: 30), dump(5.5, queue: 0, ms: 80), ["services": []]])
        #expect(loads["p/web"] == ServiceLoad(requestsPerSecond: 15.5, queue: 2, avgResponseMs: 80, nodes: 2))
        #expect(loads.count == 1)
    }
}
