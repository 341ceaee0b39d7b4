import KumoModel
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A closed-loop HTTP/1.1 load generator in the spirit of wrk: each connection sends a request, reads the whole
/// response on the event loop (status line + Content-Length body), and sends the next, with no task or
/// allocation-heavy client in between — so on a 2-core machine most CPU goes to the server being measured.
final class RawHTTPLoadHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let makeRequest: (Int) -> ByteBuffer
    private let deadline: NIODeadline
    private var buffer: [UInt8] = []
    private var sequence = 0
    private(set) var completed = 0
    private(set) var failed = 0
    private var sentAt: NIODeadline = .now()
    private(set) var latenciesMs: [Double] = []
    let done: EventLoopPromise<Void>

    init(deadline: NIODeadline, done: EventLoopPromise<Void>, makeRequest: @escaping (Int) -> ByteBuffer) {
        self.deadline = deadline
        self.done = done
        self.makeRequest = makeRequest
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
    }

    private func send(_ context: ChannelHandlerContext) {
        guard NIODeadline.now() < deadline else {
            done.succeed(())
            context.close(promise: nil)
            return
        }
        sequence += 1
        sentAt = .now()
        context.writeAndFlush(wrapOutboundOut(makeRequest(sequence)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        buffer.append(contentsOf: chunk.readableBytesView)
        // one response at a time: headers end at CRLFCRLF, then Content-Length bytes
        guard let headerEnd = Self.find([13, 10, 13, 10], in: buffer) else { return }
        let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let total = headerEnd + 4 + length
        guard buffer.count >= total else { return }
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        if (200..<300).contains(status) { completed += 1 } else { failed += 1 }
        latenciesMs.append(Double((NIODeadline.now() - sentAt).nanoseconds) / 1e6)
        buffer.removeFirst(total)
        send(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed += 1
        done.succeed(())
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(())
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && hay[i + 1] == needle[1] && hay[i + 2] == needle[2] && hay[i + 3] == needle[3] {
                return i
            }
            i += 1
        }
        return nil
    }
}

enum RawHTTPLoad {
    struct Result {
        var completed: Int
        var failed: Int
        var latenciesMs: [Double]
    }

    /// `connections` keep-alive connections, each running requests back to back until `seconds` pass.
    /// `request(connection, sequence)` renders one request.
    static func run(
        host: String, port: Int, connections: Int, seconds: Double, tls: NIOSSLContext? = nil,
        request: @escaping @Sendable (Int, Int) -> ByteBuffer
    ) async throws -> Result {
        let group = MultiThreadedEventLoopGroup.singleton
        let deadline = NIODeadline.now() + .nanoseconds(Int64(seconds * 1e9))
        var handlers: [(any Channel, RawHTTPLoadHandler)] = []
        for c in 0..<connections {
            let loop = group.next()
            let handler = RawHTTPLoadHandler(deadline: deadline, done: loop.makePromise()) { request(c, $0) }
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        if let tls {
                            try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                        }
                        try ch.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port).get()
            handlers.append((channel, handler))
        }
        var result = Result(completed: 0, failed: 0, latenciesMs: [])
        for (channel, handler) in handlers {
            try? await handler.done.futureResult.get()
            let (c, f, l) = try await channel.eventLoop.submit { (handler.completed, handler.failed, handler.latenciesMs) }.get()
            result.completed += c
            result.failed += f
            result.latenciesMs += l
        }
        return result
    }
}

/// Cost of a new connection: TCP connect, plus the TLS handshake when `tls` is given (until the handshake completes).
enum HandshakeProbe {
    final class Waiter: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let done: EventLoopPromise<Void>
        let tls: Bool
        init(done: EventLoopPromise<Void>, tls: Bool) {
            self.done = done
            self.tls = tls
        }
        func channelActive(context: ChannelHandlerContext) {
            if !tls { done.succeed(()) }
            context.fireChannelActive()
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let e = event as? TLSUserEvent, case .handshakeCompleted = e { done.succeed(()) }
            context.fireUserInboundEventTriggered(event)
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { done.fail(error) }
    }

    /// Milliseconds per new connection, `count` of them one after another.
    static func run(host: String, port: Int, count: Int, tls: NIOSSLContext?) async throws -> [Double] {
        var out: [Double] = []
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for _ in 0..<count {
            let promise = loop.makePromise(of: Void.self)
            let t0 = ContinuousClock.now
            let channel = try await ClientBootstrap(group: loop)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        if let tls {
                            try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                        }
                        try ch.pipeline.syncOperations.addHandler(Waiter(done: promise, tls: tls != nil))
                    }
                }
                .connect(host: host, port: port).get()
            try await promise.futureResult.get()
            let d = ContinuousClock.now - t0
            out.append(d.millisecondsValue)
            try? await channel.close()
        }
        return out
    }
}
