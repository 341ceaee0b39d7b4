import Foundation
import KumoAPI
import KumoModel
import KumoTestbed
import Testing

@Suite("E2E: the kumo CLI against a real server", .serialized)
struct CLITests {
    @Test("login, apply, get (KIND NAME, KIND/NAME, -A), describe, history, events, delete, backup; clear errors for bad input")
    func cliFlow() async throws {
        let session = try CLISession("cli")
        defer { session.close() }
        let (dir, server) = (session.dir, session.server)
        try await server.waitReady()
        func kumo(_ args: String..., stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
            try session.run(args, stdin: stdin)
        }

        // before login: a clear hint
        let noConfig = try kumo("get", "nodes")
        #expect(noConfig.status != 0)
        #expect(noConfig.err.contains("kumo login"))

        let login = try kumo("login", "--server", server.url, "--token-file", server.dataDir + "/admin.token")
        #expect(login.status == 0, "\(login.err)")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/config")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        let manifest = """
            apiVersion: kumo/v1
            kind: Workload
            metadata:
              name: web
              project: shop
              labels: {tier: front}
            spec:
              replicas: 3
              template:
                labels: {app: web}
                spec:
                  image: busybox:1.36
                  resources: {cpu: 250m, memory: 64Mi}
            ---
            apiVersion: kumo/v1
            kind: Project
            metadata:
              name: shop
            spec: {}
            """
        let apply = try kumo("apply", "-f", "-", stdin: manifest)
        #expect(apply.status == 0, "\(apply.err)")
        #expect(apply.out.contains("project/shop created"))
        #expect(apply.out.contains("workload/web created (project shop)"))
        let again = try kumo("apply", "-f", "-", stdin: manifest)
        #expect(again.out.contains("workload/web unchanged"), "\(again.out)")

        let get = try kumo("get", "workloads", "-p", "shop")
        #expect(get.status == 0)
        #expect(get.out.contains("NAME") && get.out.contains("web") && get.out.contains("0/3"), "\(get.out)")
        let yaml = try kumo("get", "wl", "web", "-p", "shop", "-o", "yaml")
        #expect(yaml.out.contains("replicas: 3") && yaml.out.contains("cpu: 250m"), "\(yaml.out)")
        let json = try kumo("get", "wl", "web", "-p", "shop", "-o", "json")
        #expect((try? JSONValue(parsing: json.out))?["spec"]?["replicas"] == 3)
        // kubectl's forms: KIND/NAME as well as KIND NAME, several objects, -A (and -a) for all projects
        let slashed = try kumo("get", "workload/web", "-p", "shop")
        #expect(slashed.status == 0 && slashed.out.contains("web") && slashed.out.contains("0/3"), "\(slashed.err)")
        let several = try kumo("get", "wl/web", "project/shop", "-p", "shop")
        #expect(several.status == 0 && several.out.contains("web") && several.out.contains("shop"), "\(several.err)")
        for all in ["-A", "-a"] {
            let across = try kumo("get", "workloads", all)
            #expect(across.status == 0 && across.out.contains("PROJECT") && across.out.contains("shop"), "\(all): \(across.err)")
        }
        let historyKindName = try kumo("history", "workload", "web", "-p", "shop")
        #expect(historyKindName.status == 0 && historyKindName.out.contains("create"), "\(historyKindName.err)")
        let gadget = try kumo("get", "gadget/x")
        #expect(gadget.status != 0 && gadget.err.contains("unknown kind \"gadget\": one of node"), "\(gadget.err)")
        let cordonReplica = try kumo("cordon", "replica/x")
        #expect(cordonReplica.status != 0 && cordonReplica.err.contains("works on nodes only"), "\(cordonReplica.err)")
        let describe = try kumo("describe", "workload/web", "-p", "shop")
        #expect(describe.out.contains("Field owners:") && describe.out.contains("admin:"), "\(describe.out)")
        let scale = try kumo("scale", "workload/web", "--replicas", "2", "-p", "shop")
        #expect(scale.status == 0 && scale.out.contains("scaled to 2"), "\(scale.err)")
        let rollout = try kumo("rollout", "status", "workload/web", "-p", "shop")
        #expect(rollout.status == 0 && rollout.out.contains("2 updated") || rollout.out.contains("waiting"), "\(rollout.out)")
        let undo = try kumo("rollout", "undo", "workload/web", "-p", "shop")
        #expect(undo.status != 0 && undo.err.contains("no earlier revision"), "\(undo.err)")
        let history = try kumo("history", "workload/web", "-p", "shop")
        #expect(history.out.contains("create"), "\(history.out)")

        // bad input: invalid YAML with its line, unknown kind, invalid object
        let badYAML = try kumo("apply", "-f", "-", stdin: "kind: Node\nmetadata:\n  name: [unclosed\n")
        #expect(badYAML.status != 0)
        #expect(badYAML.err.contains("line"), "\(badYAML.err)")
        let unknown = try kumo("get", "widgets")
        #expect(unknown.status != 0 && unknown.err.contains("unknown kind"), "\(unknown.err)")
        let invalid = try kumo("apply", "-f", "-", stdin: "apiVersion: kumo/v1\nkind: Node\nmetadata: {name: Bad_Name}\nspec: {}\n")
        #expect(invalid.status != 0 && invalid.err.contains("metadata.name"), "\(invalid.err)")
        let wrongToken = try session.run(["get", "nodes", "--server", server.url])
        #expect(wrongToken.status == 0)  // sanity: --server override works with the saved token

        let backupFile = dir + "/backup.db"
        let backup = try kumo("backup", "create", backupFile)
        #expect(backup.status == 0, "\(backup.err)")
        #expect(FileManager.default.fileExists(atPath: backupFile))

        // a server started from the backup has the same objects
        let restored = try ServerProcess(dataDir: dir + "/restored", extraArguments: ["--restore", backupFile])
        defer { _ = restored.terminate() }
        try await restored.waitReady()
        // (controllers keep writing status on both servers: compare what the backup must carry over)
        func essentials(_ items: JSONValue?) -> [JSONValue] {
            (items?.arrayValue ?? []).map { ["uid": $0["metadata"]?["uid"] ?? .null, "spec": $0["spec"] ?? .null] }
        }
        let original = try await server.admin.send(.GET, "/api/v1/projects/shop/workloads").json()["items"]
        let copy = try await restored.admin.send(.GET, "/api/v1/projects/shop/workloads").json()["items"]
        #expect(essentials(copy) == essentials(original))
        #expect(copy?.arrayValue?.count == 1)
        let again2 = try KumoBinary.run(["server", "--restore", backupFile, "--data-dir", dir + "/restored", "--listen", "127.0.0.1:1"])
        #expect(again2.status != 0 && again2.err.contains("refusing to restore"), "\(again2.err)")

        let refused = try kumo("delete", "project", "shop")
        #expect(refused.status != 0 && refused.err.contains("cascade"), "\(refused.err)")
        let deleted = try kumo("delete", "project", "shop", "--cascade")
        #expect(deleted.status == 0 && deleted.out.contains("project/shop deleted"), "\(deleted.err)")

        let completion = try kumo("completion", "bash")
        #expect(completion.out.contains("kumo"))
    }

    @Test("kumo secret: create from literals and files, keys without --reveal, values with it, rotate-key; describe hides values")
    func secrets() async throws {
        let session = try CLISession("cli-secrets")
        defer { session.close() }
        let (dir, server) = (session.dir, session.server)
        try await server.waitReady()
        func kumo(_ args: String..., stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
            try session.run(args, stdin: stdin)
        }
        _ = try kumo("login", "--server", server.url, "--token-file", server.dataDir + "/admin.token")
        let project = try kumo("apply", "-f", "-", stdin: "apiVersion: kumo/v1\nkind: Project\nmetadata: {name: shop}\nspec: {}\n")
        #expect(project.status == 0, "\(project.err)")
        let canary = "pw-" + UUID().uuidString
        let file = dir + "/cert.pem"
        try Data("-----BEGIN CERT-----\n".utf8).write(to: URL(fileURLWithPath: file))
        let created = try kumo("secret", "create", "db", "-p", "shop", "--from-literal", "password=\(canary)", "--from-file", "cert=\(file)")
        #expect(created.status == 0 && created.out.contains("secret/db created (2 keys)"), "\(created.err)")
        let list = try kumo("get", "secrets", "-p", "shop")
        #expect(list.out.contains("db") && list.out.contains("KEYS"), "\(list.out)")
        let keys = try kumo("secret", "get", "db", "-p", "shop")
        #expect(keys.out.contains("password:") && !keys.out.contains(canary), "\(keys.out)")
        let revealed = try kumo("secret", "get", "db", "-p", "shop", "--reveal")
        #expect(revealed.out.contains("password: \(canary)"), "\(revealed.out)")
        let describe = try kumo("describe", "secret/db", "-p", "shop")
        #expect(describe.status == 0 && describe.out.contains("password") && !describe.out.contains(canary), "\(describe.out)")
        #expect(!describe.out.contains(Data(canary.utf8).base64EncodedString()))
        let bad = try kumo("secret", "create", "bad", "-p", "shop", "--from-literal", "a/b=\(canary)")
        #expect(bad.status != 0 && bad.err.contains("spec.data") && !bad.err.contains(canary), "\(bad.err)")
        let rotated = try kumo("secret", "rotate-key")
        #expect(rotated.status == 0 && rotated.out.contains("1 of 1 secrets re-encrypted"), "\(rotated.out) \(rotated.err)")
        let after = try kumo("secret", "get", "db", "-p", "shop", "--reveal")
        #expect(after.out.contains("password: \(canary)"), "\(after.out)")
    }

    @Test("an unreachable server gets a message saying so")
    func unreachable() throws {
        let dir = tempDir("unreach")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ClientConfig(server: "http://127.0.0.1:\(try ServerProcess.freePort())", token: "x").save(to: dir + "/config")
        let r = try KumoBinary.run(["get", "nodes"], env: ["KUMO_CONFIG": dir + "/config"])
        #expect(r.status != 0)
        #expect(r.err.contains("failed to reach the Kumo server"), "\(r.err)")
    }
}

/// A fresh `kumo server` and the CLI pointed at it through its own config file; `close()` removes both.
final class CLISession {
    let dir: String
    let server: ServerProcess

    init(_ name: String) throws {
        dir = tempDir(name)
        server = try ServerProcess(dataDir: dir + "/data")
    }

    func run(_ args: [String], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
        try KumoBinary.run(args, env: ["KUMO_CONFIG": dir + "/config"], stdin: stdin)
    }

    func close() {
        _ = server.terminate()
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: dir + "/data.log")
    }
}
