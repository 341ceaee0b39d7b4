import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import Logging
import NIOCore
import NIOHTTP1

/// A real Kumo API server on a loopback port with its own temporary data directory, and an admin client.
final class TestServer: Sendable {
    let dir: String
    let server: KumoServer
    let task: Task<Void, any Error>
    let port: Int
    let admin: KumoClient

    var url: String { "https://127.0.0.1:\(port)" }
    /// The cluster CA the server made (clients trust only it).
    var caPEM: String { (try? String(contentsOfFile: dir + "/ca.crt", encoding: .utf8)) ?? "" }

    /// API tests run without the controllers (so nothing else writes their objects); controller tests turn
    /// them on with `configure: { $0.runControllers = true }`.
    static func start(
        dir existing: String? = nil, logger custom: Logger? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let dir = existing ?? NSTemporaryDirectory() + "kumo-test-\(UUID().uuidString.prefix(8))"
        var config = ServerConfiguration(dataDir: dir, host: "127.0.0.1", port: 0, runControllers: false)
        configure(&config)
        var logger = custom ?? Logger(label: "test.server")
        if custom == nil { logger.logLevel = .warning }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server = try KumoServer(config: config, logger: logger) { port in continuation.yield(port) }
        let task = Task { try await server.run(signals: []) }
        var port = 0
        for await p in stream {
            port = p
            break
        }
        let token = try String(contentsOfFile: config.adminTokenPath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return TestServer(dir: dir, server: server, task: task, port: port, token: token)
    }

    private init(dir: String, server: KumoServer, task: Task<Void, any Error>, port: Int, token: String) {
        self.dir = dir
        self.server = server
        self.task = task
        self.port = port
        let ca = (try? String(contentsOfFile: dir + "/ca.crt", encoding: .utf8)) ?? ""
        self.admin = KumoClient(baseURL: "https://127.0.0.1:\(port)", token: token, caPEM: ca)
    }

    func client(token: String) -> KumoClient { KumoClient(baseURL: url, token: token, caPEM: caPEM) }

    /// Graceful shutdown; the data directory stays (for restart tests) until `remove()`.
    func stop() async {
        await server.shutdown()
        _ = try? await task.value
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Stops and deletes everything.
    func finish() async {
        await stop()
        remove()
    }

    /// A raw request: status, and the body parsed as JSON when it is JSON.
    func raw(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, token: String? = nil,
        contentType: String = "application/json", headers extra: [(String, String)] = []
    ) async throws -> (status: Int, json: JSONValue?) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let token = token ?? Optional(admin.token), !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        for (k, v) in extra { request.headers.add(name: k, value: v) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await admin.http.execute(request, timeout: .seconds(30))
        let bytes = Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        return (Int(response.status.code), try? JSONValue(parsing: bytes))
    }
}

/// Valid sample objects.
enum Sample {
    static func project(_ name: String, labels: [String: String]? = nil) -> JSONValue {
        var meta: [String: JSONValue] = ["name": .string(name)]
        if let labels { meta["labels"] = .object(labels.mapValues { .string($0) }) }
        return ["apiVersion": "kumo/v1", "kind": "Project", "metadata": .object(meta), "spec": ["description": "test"]]
    }

    static func node(_ name: String, labels: [String: String] = [:]) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": ["unschedulable": false],
        ]
    }

    static func workload(_ name: String, replicas: Int = 2, image: String = "busybox:1.36", labels: [String: String] = [:])
        -> JSONValue
    {
        [
            "apiVersion": "kumo/v1", "kind": "Workload",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": [
                "replicas": .number(Double(replicas)),
                "template": [
                    "labels": ["app": .string(name)],
                    "spec": ["image": .string(image), "resources": ["cpu": "250m", "memory": "64Mi"]],
                ],
            ],
        ]
    }

    static func secret(_ name: String) -> JSONValue {
        ["apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": .string(name)], "spec": ["data": ["password": "aHVudGVyMg=="]]]
    }

    static func service(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Service", "metadata": ["name": .string(name)],
            "spec": ["selector": ["app": "web"], "ports": [["port": 80, "targetPort": 8080]]],
        ]
    }

    static func replica(_ name: String) -> JSONValue {
        ["apiVersion": "kumo/v1", "kind": "Replica", "metadata": ["name": .string(name)], "spec": ["image": "busybox:1.36"]]
    }

    static func instance(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Instance", "metadata": ["name": .string(name)],
            "spec": ["image": "debian:12", "vcpus": 1, "memory": "512Mi"],
        ]
    }

    static func image(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Image", "metadata": ["name": .string(name)],
            "spec": ["tags": ["latest": .string("sha256:" + String(repeating: "ab", count: 32))]],
        ]
    }
}

extension KumoClient {
    func create(_ object: JSONValue, kind: Kind, project: String? = nil, manager: String? = nil) async throws -> JSONValue {
        try await send(
            .POST, APIPaths.collection(kind, project: project), query: manager.map { [("manager", $0)] } ?? [],
            body: object.serialized()
        ).json()
    }

    func get(_ kind: Kind, _ name: String, project: String? = nil) async throws -> JSONValue {
        try await send(.GET, APIPaths.object(kind, project: project, name: name)).json()
    }

    func mergePatch(
        _ kind: Kind, _ name: String, project: String? = nil, _ patch: JSONValue, query: [(String, String)] = []
    ) async throws -> JSONValue {
        try await send(
            .PATCH, APIPaths.object(kind, project: project, name: name), query: query, body: patch.serialized(),
            contentType: mergePatchContentType
        ).json()
    }
}

/// The error a throwing call ended with (nil if it did not throw).
func kumoError(_ body: () async throws -> Void) async -> KumoError? {
    do {
        try await body()
        return nil
    } catch let e as KumoError {
        return e
    } catch {
        return KumoError(.internal, "\(error)")
    }
}

/// Runs `body` against a fresh server and always stops and removes it afterwards, also when `body` throws.
func withServer(
    configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void
) async throws {
    let s = try await TestServer.start(configure: configure)
    do {
        try await body(s)
    } catch {
        await s.finish()
        throw error
    }
    await s.finish()
}

/// Reads `count` events from a watch stream (fails after 10 s).
func takeEvents(_ count: Int, _ stream: AsyncThrowingStream<WatchEventWire, any Error>) async throws -> [WatchEventWire] {
    try await withThrowingTaskGroup(of: [WatchEventWire].self) { group in
        group.addTask {
            var out: [WatchEventWire] = []
            for try await e in stream {
                out.append(e)
                if out.count == count { break }
            }
            return out
        }
        group.addTask {
            try await Task.sleep(for: .seconds(10))
            throw KumoError(.internal, "timed out waiting for \(count) watch events")
        }
        let first = try await group.next() ?? []
        group.cancelAll()
        return first
    }
}
