import Foundation
import KumoModel

/// HAProxy's Runtime API over its admin socket: one command per connection (`show stat`, `set server b/s state
/// drain`). Used only between reloads; the rendered config stays the source of truth.
struct HAProxyRuntime: Sendable {
    let socketPath: String

    /// Sends one command and returns the whole answer (blocking I/O on a short-lived socket, off the caller's
    /// executor).
    func send(_ command: String, timeout: Duration = .seconds(2)) async throws(KumoError) -> String {
        let path = socketPath
        let result: Result<String, KumoError> = await withCheckedContinuation { cont in
            DispatchQueue.global().async { cont.resume(returning: Self.blockingSend(command, path: path, timeout: timeout)) }
        }
        return try result.get()
    }

    private static func blockingSend(_ command: String, path: String, timeout: Duration) -> Result<String, KumoError> {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failure(KumoError(.internal, "failed to create a unix socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            return .failure(KumoError(.invalid, "socket path too long: \(path)"))
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            return .failure(KumoError(.unavailable, "failed to reach HAProxy's runtime API at \(path): \(String(cString: strerror(errno)))"))
        }
        let line = Array((command + "\n").utf8)
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return .failure(KumoError(.unavailable, "failed to send to HAProxy's runtime API")) }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += buffer[0..<n]
            if answer.count > 64 << 20 { break }
        }
        return .success(String(decoding: answer, as: UTF8.self))
    }
}
