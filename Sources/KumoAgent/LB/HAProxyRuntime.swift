import Foundation
import KumoModel
import KumoSystem

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
        let fd: Int32
        do { fd = try UnixSocket.connect(path: path, timeout: timeout, what: "HAProxy's runtime API") } catch {
            return .failure(error)
        }
        defer { close(fd) }
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
