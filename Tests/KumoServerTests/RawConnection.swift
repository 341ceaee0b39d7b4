import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Raw loopback connections for transport tests: what a plain-HTTP client, a TLS client from another source
/// address, or a misbehaving client sees. Every read is bounded by a timeout.
enum RawConnection {
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var bytes: [UInt8] = []
        /// The server's certificate, taken at the first read (the handshake is done then; after close it is gone).
        var peer: NIOSSLCertificate?
        let done: EventLoopPromise<[UInt8]>
        let stopAfterResponse: Bool
        init(done: EventLoopPromise<[UInt8]>, stopAfterResponse: Bool) {
            self.done = done
            self.stopAfterResponse = stopAfterResponse
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if peer == nil, let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self) {
                peer = tls.peerCertificate
            }
            bytes.append(contentsOf: unwrapInboundIn(data).readableBytesView)
            if stopAfterResponse, Self.completeResponse(bytes) { done.succeed(bytes) }
        }
        func channelInactive(context: ChannelHandlerContext) { done.succeed(bytes) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.succeed(bytes)
            context.close(promise: nil)
        }
        /// Headers and a Content-Length body have arrived.
        static func completeResponse(_ b: [UInt8]) -> Bool {
            let text = String(decoding: b, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            return text.utf8.count - text.utf8.distance(from: text.startIndex, to: end.upperBound) >= length
        }
    }

    /// Connects (from `source` when given), optionally over TLS trusting `caPEM`, writes `payload`, and returns what
    /// came back until the connection closed, a whole HTTP response arrived, or `timeout` passed; with the peer's
    /// certificate (TLS).
    static func exchange(
        port: Int, host: String = "127.0.0.1", source: String? = nil, caPEM: String? = nil, serverName: String? = nil,
        payload: [UInt8], timeout: TimeAmount = .seconds(5)
    ) async throws -> (bytes: [UInt8], peer: NIOSSLCertificate?) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let done = loop.makePromise(of: [UInt8].self)
        let collector = Collector(done: done, stopAfterResponse: true)
        var sslContext: NIOSSLContext? = nil
        if let caPEM {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
            if serverName == nil { tls.certificateVerification = .noHostnameVerification }
            sslContext = try NIOSSLContext(configuration: tls)
        }
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(3))
            .channelInitializer { [sslContext] ch in
                ch.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try ch.pipeline.syncOperations.addHandler(collector)
                }
            }
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        let timer = loop.scheduleTask(in: timeout) { done.succeed(collector.bytes) }
        // a refused handshake closes the channel: then the answer is whatever came (nothing)
        try? await channel.writeAndFlush(ByteBuffer(bytes: payload))
        let bytes = try await done.futureResult.get()
        timer.cancel()
        let peer = try await channel.eventLoop.submit { collector.peer }.get()
        try? await channel.close()
        return (bytes, peer)
    }

    /// An HTTP/1.1 GET with a bearer token.
    static func get(_ path: String, token: String?) -> [UInt8] {
        var head = "GET \(path) HTTP/1.1\r\nHost: kumo\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// The status code of a raw HTTP response (nil: no HTTP response at all).
    static func status(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }

    /// Opens a plain TCP connection and keeps it (for slow or stalled clients); the caller closes it.
    static func open(port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
    }
}
