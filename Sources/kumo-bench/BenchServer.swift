import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import KumoTestSupport
import Logging
import NIOSSL

/// A real Kumo server in this process on a loopback port, with a temporary data directory.
final class BenchServer: Sendable {
    let server: KumoServer
    let task: Task<Void, any Error>
    let url: String
    let token: String
    let dir: String
    /// The cluster CA (nil over plain HTTP).
    let caPEM: String?

    /// TLS (the default of `kumo server`) or, to measure what TLS costs, plain HTTP.
    static func start(synchronousFull: Bool = false, tls: Bool = true) async throws -> BenchServer {
        let dir = temporaryPath("bench")
        var logger = Logger(label: "kumo.bench.server")
        logger.logLevel = .error
        var config = ServerConfiguration(dataDir: dir, port: 0, synchronousFull: synchronousFull)
        if !tls { config.tls = .plainHTTP }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let server = try KumoServer(config: config, logger: logger) { continuation.yield($0) }
        let task = Task { try await server.run(signals: []) }
        var port = 0
        for await p in stream {
            port = p
            break
        }
        let token = try String(contentsOfFile: config.adminTokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = tls ? try String(contentsOfFile: config.caCertPath, encoding: .utf8) : nil
        return BenchServer(
            server: server, task: task, url: "\(tls ? "https" : "http")://127.0.0.1:\(port)", token: token, dir: dir, caPEM: ca)
    }

    private init(server: KumoServer, task: Task<Void, any Error>, url: String, token: String, dir: String, caPEM: String?) {
        self.caPEM = caPEM
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

    /// A client trusting only `caPEM` (nil: plain HTTP).
    static func httpClient(connections: Int, caPEM: String? = nil) -> HTTPClient {
        var config = HTTPClient.Configuration()
        if let caPEM, let certs = try? NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)) {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(certs)
            config.tlsConfiguration = tls
        }
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        config.timeout = .init(connect: .seconds(10), read: .seconds(3600))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }
}
