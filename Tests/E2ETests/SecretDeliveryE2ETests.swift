import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed
import Testing

/// Secrets delivered into real runc containers: files on tmpfs (0400) and environment variables; a changed
/// secret reaches the running container's files; a missing secret leaves the replica Pending with the reason.
@Suite("Secret delivery into containers", .serialized, .enabled(if: LocalCloud.available, "needs root, runc and busybox-static"))
struct SecretDeliveryE2ETests {
    @Test("file and env delivery; an update is re-delivered; a missing secret keeps the replica Pending; nothing on disk")
    func delivery() async throws {
        try await withCloud(agents: 1) { c in
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: s}\n")
            try c.kumo(["secret", "create", "db", "-p", "s", "--from-literal", "password=hunter2-first"])
            try c.apply(
                """
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: app, project: s}
                spec:
                  image: busybox:latest
                  command: ["sleep", "3600"]
                  env:
                    - {name: DB_PASSWORD, secretRef: {name: db, key: password}}
                  secrets:
                    - {name: db}
                  terminationGracePeriodSeconds: 1
                ---
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: orphan, project: s}
                spec:
                  image: busybox:latest
                  command: ["sleep", "3600"]
                  secrets:
                    - {name: nope}
                ---
                apiVersion: kumo/v1
                kind: Replica
                metadata: {name: nokey, project: s}
                spec:
                  image: busybox:latest
                  command: ["sleep", "3600"]
                  env:
                    - {name: X, secretRef: {name: db, key: nokey}}
                """)
            try await eventually("app running", timeout: .seconds(30)) {
                try await c.admin.get(.replica, "app", project: "s")["status"]?["phase"] == "Running"
            }
            let uid = try #require(try await c.admin.get(.replica, "app", project: "s")["metadata"]?["uid"]?.stringValue)
            let root = c.agentDir(1) + "/runc"
            // what the container's processes see (runc exec runs with the container's own environment)
            func inContainer(_ argv: [String]) throws -> String {
                try LocalCloud.sh(["runc", "--root", root, "exec", uid] + argv, check: false).out
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let file = ["cat", "/run/secrets/db/password"]
            try await eventually("file and env delivered", timeout: .seconds(10)) {
                try inContainer(file) == "hunter2-first" && inContainer(["sh", "-c", "echo $DB_PASSWORD"]) == "hunter2-first"
            }
            let mode = try LocalCloud.sh(["runc", "--root", root, "exec", uid, "stat", "-c", "%a", "/run/secrets/db/password"]).out
            #expect(mode.trimmingCharacters(in: .whitespacesAndNewlines) == "400")

            // the secret changes: the file follows within seconds (env at the next start)
            try await c.admin.send(
                .PATCH, "/api/v1/projects/s/secrets/db",
                body: JSONValue.object(["spec": ["data": ["password": .string(Data("hunter2-second".utf8).base64EncodedString())]]]).serialized(),
                contentType: mergePatchContentType)
            try await eventually("file re-delivered", timeout: .seconds(15)) { try inContainer(file) == "hunter2-second" }

            // after an agent restart the adopted container still gets updates
            c.stopAgent(1)
            try c.startAgent(1)
            try await c.waitForReadyNodes(1)
            try await c.admin.send(
                .PATCH, "/api/v1/projects/s/secrets/db",
                body: JSONValue.object(["spec": ["data": ["password": .string(Data("hunter2-third".utf8).base64EncodedString())]]]).serialized(),
                contentType: mergePatchContentType)
            try await eventually("file re-delivered after the agent restart", timeout: .seconds(15)) {
                try inContainer(file) == "hunter2-third"
            }

            // a key added shows as a file; removed from the secret, its file goes too
            func patchData(_ data: JSONValue) async throws {
                try await c.admin.send(
                    .PATCH, "/api/v1/projects/s/secrets/db", body: JSONValue.object(["spec": ["data": data]]).serialized(),
                    contentType: mergePatchContentType)
            }
            try await patchData(["extra": .string(Data("more".utf8).base64EncodedString())])
            try await eventually("new key delivered", timeout: .seconds(15)) { try inContainer(["cat", "/run/secrets/db/extra"]) == "more" }
            try await patchData(["extra": .null])
            try await eventually("removed key's file gone", timeout: .seconds(15)) {
                try inContainer(["ls", "/run/secrets/db"]) == "password"
            }

            // a missing secret: Pending with the reason, no container, no crash loop
            try await eventually("orphan Pending with SecretNotFound", timeout: .seconds(15)) {
                let r = try await c.admin.get(.replica, "orphan", project: "s")
                return r["status"]?["phase"] == "Pending" && r["status"]?["reason"] == "SecretNotFound"
            }
            #expect(try await c.admin.get(.replica, "orphan", project: "s")["status"]?["restartCount"] == 0)
            // the secret is there but lacks the key: the replica's configuration, not a missing secret
            try await eventually("nokey fails with CreateContainerConfigError", timeout: .seconds(15)) {
                try await c.admin.get(.replica, "nokey", project: "s")["status"]?["reason"] == "CreateContainerConfigError"
            }
            // one watch for the agent, no polling: the agent's state shows what it follows
            let state = try await c.admin.send(.GET, "/api/v1/nodes/\(c.nodeName(1))/state").json()
            #expect(state["replicas"]?["secretWatch"]?["watchFailures"] == 0, "\(state["replicas"]?["secretWatch"] ?? .null)")

            // nothing of the value on the agent's disk: runc's state (it holds the env) and the secret files are on
            // tmpfs mounts; bundles, logs, records and images are on disk and must not contain it
            for dir in ["runc", "secrets"] {
                let fs = try LocalCloud.sh(["findmnt", "-n", "-o", "FSTYPE", c.agentDir(1) + "/" + dir], check: false).out
                #expect(fs.trimmingCharacters(in: .whitespacesAndNewlines) == "tmpfs", "\(dir) is on tmpfs")
            }
            let grep = try LocalCloud.sh(
                ["grep", "-rl", "--exclude-dir=runc", "--exclude-dir=secrets", "hunter2", c.agentDir(1)], check: false)
            #expect(grep.out.isEmpty, "secret value found on disk: \(grep.out)")
            // nor in any log or event
            for log in [c.dir + "/agent-1.log", c.server.log] {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                #expect(!text.contains("hunter2"), "secret value in \(log)")
            }
            #expect(!(try c.kumo(["events", "-p", "s"])).contains("hunter2"))
            #expect(!(try c.kumo(["describe", "replica/app", "-p", "s"])).contains("hunter2"))
        }
    }
}
