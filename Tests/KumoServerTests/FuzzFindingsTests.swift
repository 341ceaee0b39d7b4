import Foundation
import KumoAPI
import KumoModel
import Testing

/// What `make fuzz` (scripts/fuzz.sh: schemathesis against a seeded server) found, one test per finding, each
/// failing before its fix.
@Suite("API: make fuzz findings")
struct FuzzFindingsTests {
    @Test("server-side apply is about the object of its URL: another metadata.name or project is a 422, nothing made")
    func applyNamesItsURL() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Sample.secret("db"), kind: .secret, project: "p")
            func apply(_ path: String, _ body: String) async throws -> (status: Int, json: JSONValue?) {
                try await s.raw(.PATCH, path, body: Array(body.utf8), contentType: applyPatchContentType)
            }
            // to a name that does not exist: this created the body's object ("other") instead
            let absent = try await apply("/api/v1/images/missing", #"{"metadata":{"name":"other"},"spec":{}}"#)
            #expect(absent.status == 422, "\(String(describing: absent.json))")
            #expect(absent.json?["error"]?["field"] == "metadata.name")
            let images = try await s.admin.send(.GET, "/api/v1/images").json()
            #expect(images["items"]?.arrayValue?.isEmpty == true, "nothing was created: \(images)")
            // to an existing object: the other name (or project) was dropped silently, and the rest applied
            let renamed = try await apply("/api/v1/projects/p/secrets/db", #"{"metadata":{"name":"x"},"spec":{}}"#)
            #expect(renamed.status == 422)
            #expect(renamed.json?["error"]?["field"] == "metadata.name")
            let moved = try await apply(
                "/api/v1/projects/p/secrets/db", #"{"metadata":{"name":"db","project":"elsewhere"},"spec":{}}"#)
            #expect(moved.status == 422)
            #expect(moved.json?["error"]?["field"] == "metadata.project")
            let rekinded = try await apply("/api/v1/projects/p/secrets/db", #"{"kind":"Workload","metadata":{"name":"db"},"spec":{}}"#)
            #expect(rekinded.status == 422)
            #expect(rekinded.json?["error"]?["field"] == "kind")
            #expect(try await s.admin.get(.secret, "db", project: "p")["spec"]?["data"]?["password"] == "aHVudGVyMg==")
            // the URL's own name still applies (and creates)
            let made = try await apply("/api/v1/images/made", #"{"metadata":{"name":"made"},"spec":{}}"#)
            #expect(made.status == 201)
        }
    }

    @Test("a cascade delete of a project with a replica bound to a node answers (409 until it is gone) instead of spinning")
    func cascadeWithBoundReplica() async throws {
        try await withServer { s in
            try await s.projectAndNode()
            _ = try await s.admin.create(Sample.pinned(Sample.replica("r1"), to: "n1"), kind: .replica, project: "p")
            _ = try await s.admin.create(Sample.replica("r2"), kind: .replica, project: "p")
            _ = try await s.admin.create(Sample.secret("db"), kind: .secret, project: "p")
            // this request never answered: the bound replica is only marked Terminating and the loop listed it again
            let started = ContinuousClock.now
            let first = try await s.raw(.DELETE, "/api/v1/projects/p?cascade=true")
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(first.status == 409, "\(String(describing: first.json))")
            #expect(first.json?["error"]?["message"]?.stringValue?.contains("replica/r1") == true)
            // everything else went; the bound replica waits for its agent, and the project stays meanwhile
            let replicas = try await s.admin.send(.GET, "/api/v1/projects/p/replicas").json()
            #expect(replicas["items"]?.arrayValue?.map { $0["metadata"]?["name"] } == ["r1"])
            #expect(replicas["items"]?.arrayValue?.first?["metadata"]?["deletionTimestamp"] != nil)
            #expect(try await s.raw(.GET, "/api/v1/projects/p/secrets/db").status == 404)
            #expect(try await s.raw(.GET, "/api/v1/projects/p").status == 200)
            // once the agent has deleted it (here: forced), the cascade completes
            #expect(try await s.raw(.DELETE, "/api/v1/projects/p/replicas/r1?force=true").status == 200)
            #expect(try await s.raw(.DELETE, "/api/v1/projects/p?cascade=true").status == 200)
            #expect(try await s.raw(.GET, "/api/v1/projects/p").status == 404)
        }
    }

    @Test("logs, console, state and metrics of a node whose agent never registered: 409 naming status.agentURL, not 503")
    func noAgentEndpointIsAConflict() async throws {
        try await withServer { s in
            try await s.projectAndNode()
            _ = try await s.admin.create(Sample.pinned(Sample.replica("r1"), to: "n1"), kind: .replica, project: "p")
            _ = try await s.admin.create(Sample.pinned(Sample.instance("vm1"), to: "n1"), kind: .instance, project: "p")
            for path in [
                "/api/v1/nodes/n1/state", "/api/v1/nodes/n1/metrics", "/api/v1/projects/p/replicas/r1/logs",
                "/api/v1/projects/p/instances/vm1/console",
            ] {
                let (status, body) = try await s.raw(.GET, path)
                #expect(status == 409, "\(path): \(String(describing: body))")
                #expect(body?["error"]?["field"] == "status.agentURL", "\(path)")
            }
        }
    }

    @Test("a bound instance marked Terminating keeps an Instance status (no replica-only `ready`), so its agent's next write is valid")
    func terminatingInstanceStatusIsAnInstanceStatus() async throws {
        try await withServer { s in
            try await s.projectAndNode()
            _ = try await s.admin.create(Sample.pinned(Sample.instance("vm1"), to: "n1"), kind: .instance, project: "p")
            let marked = try await s.admin.send(.DELETE, "/api/v1/projects/p/instances/vm1").json()
            #expect(marked["status"]?["phase"] == "Terminating")
            #expect(marked["status"]?["ready"] == nil)
            // the stored object is a valid Instance: it conforms to the kind's schema and a PUT of it is accepted
            let stored = try await s.admin.get(.instance, "vm1", project: "p")
            #expect(try Kind.instance.canonicalize(stored)["status"] != nil)
            let put = try await s.raw(.PUT, "/api/v1/projects/p/instances/vm1", body: stored.serialized())
            #expect(put.status == 200, "\(String(describing: put.json))")
        }
    }

    @Test("an integer beyond ±(2^53 − 1) anywhere in an object (here a node's status) is a 422 naming it, never stored")
    func integersBeyondExactJSONAreRefused() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            // schemathesis stored this and then read it back as a float (-4.110350641422523e+16 is "not an integer")
            let patch = try await s.raw(
                .PATCH, "/api/v1/nodes/n1", body: Array(#"{"status": {"capacity": {"pods": -41103506414225230}}}"#.utf8),
                contentType: "application/merge-patch+json")
            #expect(patch.status == 422, "\(String(describing: patch.json))")
            #expect(patch.json?["error"]?["field"] == "status.capacity.pods")
            let fine = try await s.raw(
                .PATCH, "/api/v1/nodes/n1", body: Array(#"{"status": {"capacity": {"pods": 110}}}"#.utf8),
                contentType: "application/merge-patch+json")
            #expect(fine.status == 200)
            #expect(try await s.admin.get(.node, "n1")["status"]?["capacity"]?["pods"] == 110)
        }
    }

    @Test("a node status whose agentURL or addresses nobody could use is a 422 naming the field, never stored (make fuzz stored one and the node proxy answered 503)")
    func unusableAgentEndpointIsRefused() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.node("n1"), kind: .node)
            for (body, field) in [
                (#"{"status": {"agentURL": "򙅠"}}"#, "status.agentURL"),
                (#"{"status": {"agentURL": "ftp://192.0.2.10:7481"}}"#, "status.agentURL"),
                (#"{"status": {"agentURL": "http://192.0.2.10:99999"}}"#, "status.agentURL"),
                (#"{"status": {"agentURL": "http://user@192.0.2.10:7481"}}"#, "status.agentURL"),
                (#"{"status": {"addresses": ["192.0.2.300"]}}"#, "status.addresses[0]"),
            ] {
                let patch = try await s.raw(.PATCH, "/api/v1/nodes/n1", body: Array(body.utf8), contentType: "application/merge-patch+json")
                #expect(patch.status == 422, "\(body): \(String(describing: patch.json))")
                #expect(patch.json?["error"]?["field"]?.stringValue == field, "\(body)")
            }
            #expect(try await s.admin.get(.node, "n1")["status"]?["agentURL"] == nil)
            let fine = try await s.raw(
                .PATCH, "/api/v1/nodes/n1", body: Array(#"{"status": {"agentURL": "https://[2001:db8::1]:7481", "addresses": ["192.0.2.10"]}}"#.utf8),
                contentType: "application/merge-patch+json")
            #expect(fine.status == 200, "\(String(describing: fine.json))")
        }
    }
}
