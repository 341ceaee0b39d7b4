import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import Logging

/// A real Kumo server in this process on a loopback port, with a temporary data directory.
final class BenchServer: Sendable {
    let server: KumoServer
    let task: Task<Void, any Error>
    let url: String
    let token: String
    let dir: String

    static func start(synchronousFull: Bool = false) async throws -> BenchServer {
        let dir = NSTemporaryDirectory() + "kumo-bench-\(UUID().uuidString.prefix(8))"
        var logger = Logger(label: "kumo.bench.server")
        logger.logLevel = .error
        let config = ServerConfiguration(dataDir: dir, port: 0, synchronousFull: synchronousFull)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server = try KumoServer(config: config, logger: logger) { continuation.yield($0) }
        let task = Task { try await server.run(signals: []) }
        var port = 0
        for await p in stream {
            port = p
            break
        }
        let token = try String(contentsOfFile: config.adminTokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return BenchServer(server: server, task: task, url: "http://127.0.0.1:\(port)", token: token, dir: dir)
    }

    private init(server: KumoServer, task: Task<Void, any Error>, url: String, token: String, dir: String) {
        self.server = server
        self.task = task
        self.url = url
        self.token = token
        self.dir = dir
    }

    func stop() async {
        await server.shutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func httpClient(connections: Int) -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        config.timeout = .init(connect: .seconds(10), read: .seconds(3600))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }
}
