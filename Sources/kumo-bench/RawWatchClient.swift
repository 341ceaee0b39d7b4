import Foundation
import NIOCore
import NIOPosix

/// A minimal watch client for the benchmark: one raw TCP connection per watcher, bytes scanned for the send
/// stamp right on the event loop (no HTTP parsing, no task per event), so the client costs little next to the
/// server being measured. Latencies stay in each handler until collected.
final class WatchLatencyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    static let marker = Array(#""bench.kumo.dev/sent":""#.utf8)

    private var carry: [UInt8] = []
    private(set) var latencies: [Double] = []
    private(set) var connected = false
    private let onConnected: @Sendable () -> Void

    init(onConnected: @escaping @Sendable () -> Void) { self.onConnected = onConnected }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = DispatchTime.now().uptimeNanoseconds
        let buffer = unwrapInboundIn(data)
        carry.append(contentsOf: buffer.readableBytesView)
        if !connected {
            guard carry.count >= 12 else { return }
            if carry[9] == UInt8(ascii: "2") && carry[10] == UInt8(ascii: "0") && carry[11] == UInt8(ascii: "0") {
                connected = true
                onConnected()
            }
        }
        scan(now: now)
    }

    private func scan(now: UInt64) {
        let m = Self.marker
        var i = 0
        var keepFrom = max(0, carry.count - m.count - 24)
        let n = carry.count
        while i + m.count <= n {
            if carry[i] == m[0] && carry[i..<(i + m.count)].elementsEqual(m) {
                var j = i + m.count
                var value: UInt64 = 0
                while j < n, carry[j] >= 48, carry[j] <= 57 {
                    value = value &* 10 &+ UInt64(carry[j] - 48)
                    j += 1
                }
                if j >= n {  // the number may continue in the next read
                    keepFrom = i
                    break
                }
                if now > value { latencies.append(Double(now - value) / 1e6) }
                i = j
                keepFrom = max(keepFrom, j)
            } else {
                i += 1
            }
        }
        if keepFrom > 0 { carry.removeFirst(min(keepFrom, carry.count)) }
    }
}

enum RawWatchClient {
    /// Opens a watch on `path` and returns the channel and its handler.
    static func open(host: String, port: Int, path: String, token: String, onConnected: @escaping @Sendable () -> Void)
        async throws -> (any Channel, WatchLatencyHandler)
    {
        let handler = WatchLatencyHandler(onConnected: onConnected)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: host, port: port).get()
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return (channel, handler)
    }

    static func latencies(of channel: any Channel, _ handler: WatchLatencyHandler) async -> [Double] {
        (try? await channel.eventLoop.submit { handler.latencies }.get()) ?? []
    }
}
