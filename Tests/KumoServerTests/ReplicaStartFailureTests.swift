import Foundation
import KumoAPI
import KumoModel
import KumoSystem
import Logging
import Testing

@testable import KumoAgent
@testable import KumoCLI
@testable import KumoServer

/// A replica that cannot start gets its reason from the stage that failed and the error's code, never from the
/// message text. Real server, real node token, real image store pulling through the API.
@Suite("Agent: start failures classified by stage and code")
struct ReplicaStartFailureTests {
    @Test("no such image → ImagePullFailed; secret missing → SecretNotFound; key missing or nothing to run → CreateContainerConfigError")
    func classification() async throws {
        try await withServer { s in
            let dir = try ImageAPITests.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pusher = ImageAPITests.pusher(s.admin)
            _ = try await pusher.push("library/busybox:latest", from: .busybox, run: .init(), command: Command())
            // an image with neither entrypoint nor cmd: "nothing to run: the image …" names the image, and is
            // still the replica's configuration, not a pull failure (the old text match said ImagePullFailed)
            let root = try ImageAPITests.rootfs(dir, ["hello.txt": "hi"])
            _ = try await pusher.push("library/empty:1", from: .directory(root), run: .init(), command: Command())

            let nodeClient = try await ImageAPITests.nodeClient(s, node: "n1")
            let api = AgentAPI(client: nodeClient, node: "n1")
            let node = try await nodeClient.create(Sample.node("n1"), kind: .node)
            let subnet = try #require(IPv4Network(node["spec"]?["podCIDR"]?.stringValue ?? ""))
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(SecretTests.secret("db", ["password": "pw"]), kind: .secret, project: "p")
            var logger = Logger(label: "test.agent")
            logger.logLevel = .warning
            let images = StoreImageProvider(
                store: ImageStore(directory: dir + "/agent", source: APIImageSource(client: nodeClient), command: Command(), logger: logger))

            /// Creates the replica, binds it to n1 (the server then gives n1 the secrets it references) and runs
            /// the agent's start preparation on it.
            func prepare(_ name: String, _ spec: JSONValue) async throws -> StartFailure? {
                var object = Sample.replica(name)
                object["spec"] = spec
                _ = try await s.admin.create(object, kind: .replica, project: "p")
                let bound = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: name), toNode: "n1")
                let replica = try decode(bound.object, as: Replica.self)
                do throws(StartFailure) {
                    _ = try await ReplicaRunner.prepare(
                        replica, uid: name, images: images, subnet: subnet, namer: SandboxNamer(),
                        secretDirectory: { "/run/kumo-test/\($0)" },
                        secret: { n throws(KumoError) in try await api.secret(project: "p", name: n) })
                    return nil
                } catch {
                    return error
                }
            }

            let pull = try await prepare("pull", ["image": "library/nope:1", "command": ["sleep", "1"]])
            #expect(pull?.reason == .imagePullFailed, "\(pull?.error.message ?? "started")")
            #expect(pull?.error.code == .notFound)

            let missing = try await prepare(
                "missing", ["image": "library/busybox:latest", "command": ["sleep", "1"], "secrets": [["name": "nope"]]])
            #expect(missing?.reason == .secretNotFound, "\(missing?.error.message ?? "started")")
            #expect(missing?.error.code == .notFound)
            #expect(missing?.error.field == "spec.secrets")
            let missingEnv = try await prepare(
                "missing-env",
                ["image": "library/busybox:latest", "command": ["sleep", "1"], "env": [["name": "X", "secretRef": ["name": "nope", "key": "k"]]]])
            #expect(missingEnv?.reason == .secretNotFound)
            #expect(missingEnv?.error.field == "spec.env")

            // the secret is there and n1 may read it, but it has no such key: "secret db has no key …" starts
            // with "secret " (the old prefix match said SecretNotFound)
            let key = try await prepare(
                "key",
                ["image": "library/busybox:latest", "command": ["sleep", "1"], "env": [["name": "PW", "secretRef": ["name": "db", "key": "nokey"]]]])
            #expect(key?.reason == .createContainerConfigError, "\(key?.error.message ?? "started")")
            #expect(key?.error.message.hasPrefix("secret db has no key nokey") == true)

            let nothing = try await prepare("nothing", ["image": "library/empty:1"])
            #expect(nothing?.reason == .createContainerConfigError, "\(nothing?.error.message ?? "started")")
            #expect(nothing?.error.message.contains("image") == true)

            // and all is well with the key it has
            let fine = try await prepare(
                "fine",
                ["image": "library/busybox:latest", "command": ["sleep", "1"], "env": [["name": "PW", "secretRef": ["name": "db", "key": "password"]]]])
            #expect(fine == nil, "\(fine?.error.message ?? "")")
        }
    }
}
