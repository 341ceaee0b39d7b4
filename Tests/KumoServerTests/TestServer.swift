import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import Logging
import NIOCore
import NIOHTTP1

// Every file of this suite uses the shared fixtures (`Sample`, `kumoError`, `eventually`, the client helpers):
// imported once here for the whole target.
@_exported import KumoTestSupport

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
        let dir = existing ?? temporaryPath("test")
        var config = ServerConfiguration(dataDir: dir, host: "127.0.0.1", port: 0, runControllers: false)
        configure(&config)
        var logger = custom ?? Logger(label: "test.server")
        if custom == nil { logger.logLevel = .warning }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server = try KumoServer(config: config, logger: logger) { port in continuation.yield(port) }
        let task = Task {
            // a server that fails to start (its port taken) ends the stream, so start throws instead of waiting forever
            defer { continuation.finish() }
            try await server.run(signals: [])
        }
        var port = 0
        for await p in stream {
            port = p
            break
        }
        if port == 0 {
            if case .failure(let error) = await task.result { throw error }
            throw KumoError(.internal, "the test server ended before it listened")
        }
        let token = try String(contentsOfFile: config.adminTokenPath, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return TestServer(dir: dir, server: server, task: task, port: port, token: token)
    }

    /// A server on a port below the kernel's ephemeral range (32768 and up here), for a test that restarts it on the
    /// same port: a port the kernel picked can be handed to another test's outgoing connection the moment it is
    /// free. Tries random ports until one binds.
    static func startOnStablePort(dir: String? = nil) async throws -> TestServer {
        let dir = dir ?? temporaryPath("test")  // one directory for every try: a failed bind leaves nothing else behind
        var lastError: (any Error)? = nil
        for _ in 0..<30 {
            let port = Int.random(in: 20000..<32000)
            do {
                return try await start(dir: dir) { $0.port = port }
            } catch {
                guard "\(error)".contains("Address already in use") else { throw error }
                lastError = error
            }
        }
        throw lastError ?? KumoError(.internal, "no free port")
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

// KumoTestbed's LocalCloud.swift has the same `get` (public); both move to KumoTestSupport's KumoClient+Objects.swift
// together, since two would be ambiguous where both modules are imported.
extension KumoClient {
    func get(_ kind: Kind, _ name: String, project: String? = nil) async throws -> JSONValue {
        try await send(.GET, APIPaths.object(kind, project: project, name: name)).json()
    }
}

extension TestServer {
    /// A project and a node (IPAM gives it a pod subnet): where pinned replicas and instances go.
    func projectAndNode(_ project: String = "p", node: String = "n1") async throws {
        _ = try await admin.create(Sample.project(project), kind: .project)
        _ = try await admin.create(Sample.node(node), kind: .node)
    }
}

/// Runs `body` against a fresh server and always stops and removes it afterwards, also when `body` throws.
func withServer(
    configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void
) async throws {
    let s = try await TestServer.start(configure: configure)
    try await withCleanup {
        try await body(s)
    } cleanup: {
        await s.finish()
    }
}

/// Reads `count` events from a watch stream (fails after 10 s).
func takeEvents(_ count: Int, _ stream: AsyncThrowingStream<WatchEventWire, any Error>) async throws -> [WatchEventWire] {
    try await withTimeout(.seconds(10), waitingFor: "\(count) watch events") {
        var out: [WatchEventWire] = []
        for try await e in stream {
            out.append(e)
            if out.count == count { break }
        }
        return out
    }
}
