import Foundation
import KumoAPI
import KumoModel
import KumoStore
import Logging
import Synchronization
import Testing

@testable import KumoServer

/// Collects every log line (message and metadata) a server writes, to check that no secret value is among them.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        var logger = Logger(label: "test.secrets") { label in CapturingLogHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        for (k, v) in event.metadata ?? [:] { all[k] = v }
        sink.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
    }
}

@Suite("API: secrets (sealed at rest, access, key rotation)")
struct SecretTests {
    static func secret(_ name: String, _ data: [String: String], type: String? = nil) -> JSONValue {
        var spec: [String: JSONValue] = ["data": .object(data.mapValues { .string(Data($0.utf8).base64EncodedString()) })]
        if let type { spec["type"] = .string(type) }
        return ["apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    static func token(_ s: TestServer, project: String, role: TokenRole) async throws -> KumoClient {
        let body = try JSONEncoder().encode(TokenRequest(project: project, role: role))
        let info = try await s.admin.send(.POST, "/api/v1/tokens", body: Array(body)).decode(TokenInfo.self)
        return s.client(token: info.token ?? "")
    }

    static func nodeToken(_ s: TestServer, node: String) async throws -> KumoClient {
        let join = try JSONEncoder().encode(TokenRequest(role: .join))
        let joinInfo = try await s.admin.send(.POST, "/api/v1/tokens", body: Array(join)).decode(TokenInfo.self)
        let body = try JSONEncoder().encode(JoinRequest(node: node))
        let info = try await s.client(token: joinInfo.token ?? "").send(.POST, "/api/v1/join", body: Array(body))
            .decode(TokenInfo.self)
        return s.client(token: info.token ?? "")
    }

    /// The store's files as they are on disk (database and write-ahead log).
    static func databaseBytes(_ s: TestServer) -> Data {
        var all = Data()
        for suffix in ["", "-wal"] {
            if let d = FileManager.default.contents(atPath: s.dir + "/kumo.db" + suffix) { all.append(d) }
        }
        return all
    }


    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    /// Fails if `haystack` holds the value, raw or base64.
    static func expectAbsent(_ canary: String, in haystack: String, _ what: String) {
        #expect(!haystack.contains(canary), "\(what) holds a secret value in clear")
        #expect(!haystack.contains(b64(canary)), "\(what) holds a secret value (base64)")
    }

    @Test("values are sealed in the store and history; served opened to admin and edit, redacted to view, never logged")
    func sealedAtRest() async throws {
        let logs = CapturedLogs()
        let s = try await TestServer.start(logger: logs.logger())
        do {
            try await checkSealedAtRest(s, logs)
        } catch {
            await s.finish()
            throw error
        }
        await s.finish()
    }

    func checkSealedAtRest(_ s: TestServer, _ logs: CapturedLogs) async throws {
        let canary = "canary-" + UUID().uuidString
        let second = "second-" + UUID().uuidString
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        let created = try await s.admin.create(Self.secret("db", ["password": canary, "user": "admin"]), kind: .secret, project: "p")
        #expect(created["spec"]?["data"]?["password"]?.stringValue == Self.b64(canary))
        _ = try await s.admin.mergePatch(.secret, "db", project: "p", ["spec": ["data": ["password": .string(Self.b64(second))]]])
        _ = try await s.admin.mergePatch(.secret, "db", project: "p", ["metadata": ["labels": ["tier": "db"]]])

        // the key file: 0600 in the data dir
        let attributes = try FileManager.default.attributesOfItem(atPath: s.dir + "/secrets.key")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        // edit and admin read values
        let edit = try await Self.token(s, project: "p", role: .edit)
        #expect(try await edit.get(.secret, "db", project: "p")["spec"]?["data"]?["password"]?.stringValue == Self.b64(second))
        let listed = try await s.admin.send(.GET, "/api/v1/projects/p/secrets").json()
        #expect(listed["items"]?.arrayValue?.first?["spec"]?["data"]?["password"]?.stringValue == Self.b64(second))

        // the store holds sealed values only
        let raw = try await s.server.core.store.get(ObjectRef(.secret, project: "p", name: "db").storeKey)
        let stored = try JSONValue(parsing: raw?.value ?? [])
        #expect(stored["spec"]?["data"]?["password"]?.stringValue?.hasPrefix("kumo:aesgcm:") == true)

        // view: keys without values on get, list and watch
        let view = try await Self.token(s, project: "p", role: .view)
        let viewGet = String(decoding: try await view.send(.GET, APIPaths.object(.secret, project: "p", name: "db")).body, as: UTF8.self)
        #expect(viewGet.contains("password"))
        let viewList = String(decoding: try await view.send(.GET, "/api/v1/projects/p/secrets").body, as: UTF8.self)
        // both watch paths: the initial list, and replayed changes (created, then patched twice)
        let initial = try await takeEvents(1, try await view.watch("/api/v1/projects/p/secrets", query: []))
        let replayed = try await takeEvents(3, try await view.watch("/api/v1/projects/p/secrets", query: [("since", "1")]))
        // and an admin watch sees opened values
        let adminEvents = try await takeEvents(3, try await s.admin.watch("/api/v1/projects/p/secrets", query: [("since", "1")]))
        #expect(adminEvents.last?.object["spec"]?["data"]?["password"]?.stringValue == Self.b64(second))
        let viewWatch = (initial + replayed).map { String(decoding: $0.object.serialized(), as: UTF8.self) }.joined()
        #expect(viewWatch.contains("password"))
        #expect(replayed.count == 3)
        for (text, what) in [(viewGet, "view get"), (viewList, "view list"), (viewWatch, "view watch")] {
            Self.expectAbsent(canary, in: text, what)
            Self.expectAbsent(second, in: text, what)
        }

        // history: which keys changed, never a value
        let history = String(decoding: try await s.admin.send(.GET, APIPaths.history(.secret, project: "p", name: "db")).body, as: UTF8.self)
        #expect(history.contains(SecretCodec.redactedMarker))
        #expect(history.contains("/spec/data/password"))
        let events = String(decoding: try await s.admin.send(.GET, "/api/v1/events").body, as: UTF8.self)
        let state = String(decoding: try await s.admin.send(.GET, "/debug/state").body, as: UTF8.self)
        #expect(state.contains("activeKeyID"))
        // an invalid write: the error names the key, not the value
        let bad = await kumoError {
            _ = try await s.admin.mergePatch(.secret, "db", project: "p", ["spec": ["data": ["password": .string(canary + "!")]]])
        }
        #expect(bad?.code == .invalid)
        let badText = bad.map { "\($0.message) \($0.field ?? "")" } ?? ""
        #expect(logs.text.contains("created secret encryption key"), "the server logs into the captured logger")
        let db = String(decoding: Self.databaseBytes(s), as: UTF8.self)
        #expect(!db.isEmpty)
        for (text, what) in [
            (history, "history"), (events, "events"), (state, "debug state"), (badText, "error message"), (db, "database"),
            (logs.text, "server log"),
        ] {
            Self.expectAbsent(canary, in: text, what)
            Self.expectAbsent(second, in: text, what)
        }
    }

    @Test("bad input: over 1 MiB decoded → 422, over the body limit → 413, bad keys and types → 422")
    func validation() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            let big = String(repeating: "x", count: SecretSpec.maxDataBytes + 1)
            let tooBig = await kumoError { _ = try await s.admin.create(Self.secret("big", ["blob": big]), kind: .secret, project: "p") }
            #expect(tooBig?.code == .invalid)
            #expect(tooBig?.field == "spec.data")
            #expect(tooBig?.message.contains("1 MiB") == true)
            // exactly at the limit (key + value) is fine
            let fits = String(repeating: "x", count: SecretSpec.maxDataBytes - 4)
            _ = try await s.admin.create(Self.secret("fits", ["blob": fits]), kind: .secret, project: "p")
            let huge = String(repeating: "y", count: 3 * 1024 * 1024)
            let body = Self.secret("huge", ["blob": huge]).serialized()
            let (status, _) = try await s.raw(.POST, "/api/v1/projects/p/secrets", body: body)
            #expect(status == 413)
            for key in ["a/b", "..data", ".", "", "a b"] {
                let e = await kumoError { _ = try await s.admin.create(Self.secret("k", [key: "v"]), kind: .secret, project: "p") }
                #expect(e?.code == .invalid, "key \(key)")
            }
            let badType = await kumoError { _ = try await s.admin.create(Self.secret("t", ["a": "b"], type: "weird"), kind: .secret, project: "p") }
            #expect(badType?.field == "spec.type")
            let tls = await kumoError { _ = try await s.admin.create(Self.secret("t", ["tls.crt": "c"], type: "tls"), kind: .secret, project: "p") }
            #expect(tls?.code == .invalid)
            #expect(tls?.message.contains("tls.key") == true)
            _ = try await s.admin.create(Self.secret("t", ["tls.crt": "c", "tls.key": "k"], type: "tls"), kind: .secret, project: "p")
        }
    }

    @Test("a project token never reads another project's secrets, whatever its role")
    func crossProject() async throws {
        try await withServer { s in
            for p in ["p", "q"] { _ = try await s.admin.create(Sample.project(p), kind: .project) }
            _ = try await s.admin.create(Self.secret("db", ["password": "cross-canary"]), kind: .secret, project: "p")
            for role in [TokenRole.edit, .view] {
                let other = try await Self.token(s, project: "q", role: role)
                #expect(await kumoError { _ = try await other.get(.secret, "db", project: "p") }?.code == .forbidden)
                #expect(await kumoError { _ = try await other.send(.GET, "/api/v1/projects/p/secrets") }?.code == .forbidden)
                #expect(await kumoError { _ = try await other.send(.GET, "/api/v1/secrets") }?.code == .forbidden)
            }
            let own = try await Self.token(s, project: "p", role: .edit)
            #expect(try await own.get(.secret, "db", project: "p")["spec"]?["data"]?["password"] == .string(Self.b64("cross-canary")))
        }
    }

    @Test("a node token gets a secret only while a replica bound to its node uses it")
    func nodeAccess() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            _ = try await s.admin.create(Self.secret("db", ["password": "pw"]), kind: .secret, project: "p")
            _ = try await s.admin.create(Self.secret("other", ["k": "v"]), kind: .secret, project: "p")
            _ = try await s.admin.create(Self.secret("files", ["k": "v"]), kind: .secret, project: "p")
            var replica = Sample.replica("a")
            replica["spec"] = [
                "image": "busybox:1.36", "env": [["name": "PW", "secretRef": ["name": "db", "key": "password"]]],
            ]
            _ = try await s.admin.create(replica, kind: .replica, project: "p")
            let n1 = try await Self.nodeToken(s, node: "n1")
            let n2 = try await Self.nodeToken(s, node: "n2")
            _ = try await n1.create(Sample.node("n1"), kind: .node)
            _ = try await n2.create(Sample.node("n2"), kind: .node)
            // not bound yet: nobody's
            #expect(await kumoError { _ = try await n1.get(.secret, "db", project: "p") }?.code == .forbidden)
            _ = try await s.server.core.resources.bind(ObjectRef(.replica, project: "p", name: "a"), toNode: "n1")
            #expect(try await n1.get(.secret, "db", project: "p")["spec"]?["data"]?["password"] == .string(Self.b64("pw")))
            #expect(await kumoError { _ = try await n2.get(.secret, "db", project: "p") }?.code == .forbidden)
            #expect(await kumoError { _ = try await n1.get(.secret, "other", project: "p") }?.code == .forbidden)
            #expect(
                await kumoError { _ = try await n1.send(.GET, APIPaths.history(.secret, project: "p", name: "other")) }?.code
                    == .forbidden)
            #expect(try await n1.send(.GET, APIPaths.history(.secret, project: "p", name: "db")).status == 200)
            // lists show only what its replicas use (NodeSecretWatchTests covers watches)
            for path in ["/api/v1/projects/p/secrets", "/api/v1/secrets"] {
                let items = try await n1.send(.GET, path).json()["items"]?.arrayValue ?? []
                #expect(items.map { $0["metadata"]?["name"]?.stringValue } == ["db"], "\(path)")
            }
            #expect(await kumoError { _ = try await n1.send(.DELETE, "/api/v1/projects/p/secrets/db") }?.code == .forbidden)
            // once the replica is gone, so is the access
            _ = try await s.admin.send(.DELETE, APIPaths.object(.replica, project: "p", name: "a"), query: [("force", "true")])
            #expect(await kumoError { _ = try await n1.get(.secret, "db", project: "p") }?.code == .forbidden)
            #expect(try await n1.send(.GET, "/api/v1/secrets").json()["items"] == [])
            // spec.secrets also counts (file delivery)
            #expect(
                APIHandlers.secretNames(usedBy: ["spec": ["secrets": ["files", ["name": "x"], ["secretName": "y"]]]])
                    == ["files", "x", "y"])
        }
    }

    @Test("rotate-key re-seals every secret under a new key and retires the old one; reads go on; restarts read")
    func rotation() async throws {
        let s = try await TestServer.start()
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        for i in 0..<20 {
            _ = try await s.admin.create(Self.secret("s\(i)", ["v": "value-\(i)"]), kind: .secret, project: "p")
        }
        let before = s.server.core.resources.secrets.activeKeyID
        let edit = try await Self.token(s, project: "p", role: .edit)
        #expect(await kumoError { _ = try await edit.send(.POST, APIPaths.secretKeyRotation) }?.code == .forbidden)

        let reader = Task {
            var failures = 0
            for i in 0..<100 {
                let got = try? await s.admin.get(.secret, "s\(i % 20)", project: "p")
                if got?["spec"]?["data"]?["v"]?.stringValue != Self.b64("value-\(i % 20)") { failures += 1 }
            }
            return failures
        }
        // writers during the rotation: new secrets and changed ones
        let writer = Task {
            var failures = 0
            for i in 0..<30 {
                do {
                    _ = try await s.admin.create(Self.secret("w\(i)", ["v": "w-\(i)"]), kind: .secret, project: "p")
                    _ = try await s.admin.mergePatch(
                        .secret, "s\(i % 20)", project: "p", ["metadata": ["labels": ["n": .string(String(i))]]])
                } catch {
                    failures += 1
                }
            }
            return failures
        }
        let result = try await s.admin.send(.POST, APIPaths.secretKeyRotation).json()
        #expect(await reader.value == 0, "reads during the rotation")
        #expect(await writer.value == 0, "writes during the rotation")
        // nothing a racing writer stored is left under the retired key
        let key1 = result["activeKeyID"]?.stringValue ?? ""
        let mid = try await s.server.core.store.list(prefix: StoreKeys.collectionPrefix(.secret, project: nil), startAfter: nil, limit: nil)
        #expect(mid.items.count == 50)
        for kv in mid.items {
            #expect(SecretCodec.isSealed(try JSONValue(parsing: kv.value), under: key1), "\(kv.key)")
        }
        // a second rotation right after seals whatever the writers added, and still retires the old key
        let result2 = try await s.admin.send(.POST, APIPaths.secretKeyRotation).json()
        #expect(result2["retiredKeyIDs"] == [result["activeKeyID"] ?? .null])
        let before2 = key1
        let after = s.server.core.resources.secrets.activeKeyID
        #expect(after != before && before2 != before && after != before2)
        #expect(result2["activeKeyID"]?.stringValue == after)
        #expect(result["retiredKeyIDs"] == [.string(before)])
        #expect((result["resealed"]?.numberValue ?? 0) >= 1)
        #expect(s.server.core.resources.secrets.keyIDs == [after])
        let page = try await s.server.core.store.list(prefix: StoreKeys.collectionPrefix(.secret, project: nil), startAfter: nil, limit: nil)
        for kv in page.items {
            #expect(SecretCodec.isSealed(try JSONValue(parsing: kv.value), under: after))
        }
        let history = try await s.admin.send(.GET, APIPaths.history(.secret, project: "p", name: "s0")).decode(HistoryList.self)
        #expect(history.items.last?.operation == "reencrypt")

        // the key file keeps the new key: a restarted server reads everything
        await s.stop()
        let again = try await TestServer.start(dir: s.dir)
        for i in 0..<20 {
            #expect(try await again.admin.get(.secret, "s\(i)", project: "p")["spec"]?["data"]?["v"]?.stringValue == Self.b64("value-\(i)"))
        }
        for i in 0..<30 {
            #expect(try await again.admin.get(.secret, "w\(i)", project: "p")["spec"]?["data"]?["v"]?.stringValue == Self.b64("w-\(i)"))
        }
        await again.finish()
    }

    @Test("secrets stored in clear before encryption at rest are served, and sealed at the next start")
    func legacyPlaintext() async throws {
        let s = try await TestServer.start()
        _ = try await s.admin.create(Sample.project("p"), kind: .project)
        let key = ObjectRef(.secret, project: "p", name: "old").storeKey
        let legacy: JSONValue = [
            "apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": "old", "project": "p", "uid": "u"],
            "spec": ["data": .object(["k": .string(Self.b64("legacy-value"))])],
        ]
        _ = try await s.server.core.store.commit(Txn(operations: [.put(key, legacy.serialized())]))
        #expect(try await s.admin.get(.secret, "old", project: "p")["spec"]?["data"]?["k"]?.stringValue == Self.b64("legacy-value"))
        await s.stop()
        let again = try await TestServer.start(dir: s.dir)
        let stored = try JSONValue(parsing: try await again.server.core.store.get(key)?.value ?? [])
        #expect(stored["spec"]?["data"]?["k"]?.stringValue?.hasPrefix("kumo:aesgcm:") == true)
        #expect(try await again.admin.get(.secret, "old", project: "p")["spec"]?["data"]?["k"]?.stringValue == Self.b64("legacy-value"))
        await again.finish()
    }

    @Test("the key file: made 0600 at first start; a rotation cut short leaves both keys, and values under each open")
    func keyFile() throws {
        let dir = NSTemporaryDirectory() + "kumo-keyring-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/secrets.key"
        let ring = try SecretKeyring(path: path, logger: Logger(label: "test"))
        let old = try ring.seal(Array("one".utf8), context: "c")
        let first = ring.activeKeyID
        let second = try ring.beginRotation()
        let new = try ring.seal(Array("two".utf8), context: "c")
        #expect(SecretKeyring.keyID(of: old) == first && SecretKeyring.keyID(of: new) == second)
        // "crash" here: a fresh load has both keys, the new one active
        let reloaded = try SecretKeyring(path: path, logger: Logger(label: "test"))
        #expect(reloaded.activeKeyID == second && reloaded.keyIDs == [first, second].sorted())
        #expect(try reloaded.open(old, context: "c") == Array("one".utf8))
        #expect(try reloaded.open(new, context: "c") == Array("two".utf8))
        #expect(try reloaded.retireInactiveKeys() == [first])
        let retired = try SecretKeyring(path: path, logger: Logger(label: "test"))
        #expect(retired.keyIDs == [second])
        let gone = #expect(throws: KumoError.self) { try retired.open(old, context: "c") }
        #expect(gone?.message.contains(first) == true && gone?.message.contains("one") == false)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("one") && !text.contains("two"))
    }

    @Test("sealed values are bound to their secret and key; unchanged values keep their sealed form")
    func codec() throws {
        let ring = SecretKeyring(inMemory: Logger(label: "test"))
        let plain: JSONValue = [
            "kind": "Secret", "metadata": ["name": "a", "project": "p"], "spec": ["data": ["k": "aGk=", "j": "eW8="]],
        ]
        let sealed = try SecretCodec.seal(plain, previous: nil, keyring: ring)
        #expect(try SecretCodec.open(sealed, keyring: ring) == plain)
        var changed = plain
        changed["spec"] = ["data": ["k": "aGk=", "j": "bmV3"]]
        let resealed = try SecretCodec.seal(changed, previous: sealed, keyring: ring)
        #expect(resealed["spec"]?["data"]?["k"] == sealed["spec"]?["data"]?["k"])
        #expect(resealed["spec"]?["data"]?["j"] != sealed["spec"]?["data"]?["j"])
        // moved to another secret's name: does not open
        var moved = sealed
        moved["metadata"] = ["name": "b", "project": "p"]
        #expect(throws: KumoError.self) { try SecretCodec.open(moved, keyring: ring) }
        let patch = SecretCodec.redacted(JSONPatch.diff(from: .null, to: plain) + JSONPatch.diff(from: plain, to: changed))
        let text = String(decoding: JSONValue.array(patch.map(\.json)).serialized(), as: UTF8.self)
        #expect(!text.contains("aGk=") && !text.contains("bmV3") && !text.contains("eW8="))
    }
}
