import Foundation
import Synchronization

/// A closed-loop HTTP/1.1 client on plain blocking sockets, one thread per connection, that survives what a
/// load balancer does during reloads and rollouts: a connection closed after a complete response (keep-alive
/// ended, `Connection: close`, an old HAProxy soft-stopping) is simply reopened; a request counts as failed only
/// when its response is not a complete 2xx (refused, reset, cut short, 5xx). Runs inside a host's network
/// namespace (`kumo-bench load`, started by the service scenarios through nsenter).
final class HTTPLoopClient: @unchecked Sendable {
    struct Result: Sendable {
        var completed = 0
        var failed = 0
        var latenciesMs: [Double] = []
        var errors: [String: Int] = [:]
        var bodies: [String: Int] = [:]
        /// Requests re-sent on a new connection because a reused keep-alive connection closed before answering.
        var resent = 0
    }

    let host: String
    let port: UInt16
    let path: String
    private let lock = NSLock()
    private var result = Result()
    private let stopFlag = Atomic<Bool>(false)

    init(host: String, port: Int, path: String) {
        self.host = host
        self.port = UInt16(port)
        self.path = path
    }

    func stop() { stopFlag.store(true, ordering: .relaxed) }

    /// Runs `connections` loops until `seconds` pass or `stop()` (or a line on stdin when `untilStdin`).
    func run(connections: Int, seconds: Double) -> Result {
        let deadline = Date().addingTimeInterval(seconds)
        let group = DispatchGroup()
        for _ in 0..<connections {
            group.enter()
            let t = Thread { [self] in
                loop(deadline: deadline)
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        return lock.withLock { result }
    }

    private func record(ok: Bool, ms: Double?, error: String? = nil, body: String? = nil) {
        lock.withLock {
            if ok { result.completed += 1 } else { result.failed += 1 }
            if let ms { result.latenciesMs.append(ms) }
            if let error { result.errors[error, default: 0] += 1 }
            if let body, result.bodies.count < 64 { result.bodies[body, default: 0] += 1 } else if let body { result.bodies[body]? += 1 }
        }
    }

    private func loop(deadline: Date) {
        var fd: Int32 = -1
        var served = 0  // responses on the current connection
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: kumo-bench\r\n\r\n".utf8)
        var buffer = [UInt8](repeating: 0, count: 16384)
        while Date() < deadline && !stopFlag.load(ordering: .relaxed) {
            if fd < 0 {
                fd = connectTo()
                served = 0
                if fd < 0 {
                    record(ok: false, ms: nil, error: "connect: \(String(cString: strerror(errno)))")
                    usleep(10_000)
                    continue
                }
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let sent = request.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent != request.count {
                // a keep-alive connection the server closed while idle: not a failed request, reconnect
                close(fd)
                fd = -1
                continue
            }
            var data: [UInt8] = []
            var complete = false
            var keep = true
            var status = 0
            var body = ""
            var timedOut = false
            while true {
                let n = buffer.withUnsafeMutableBufferPointer { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { timedOut = true }
                if n <= 0 { break }
                data += buffer[0..<n]
                if let (s, headerEnd, length, k) = Self.parseHead(data), data.count >= headerEnd + length {
                    status = s
                    keep = k
                    body = String(decoding: data[headerEnd..<(headerEnd + length)], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    complete = true
                    break
                }
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if complete {
                served += 1
                let ok = (200..<300).contains(status)
                record(ok: ok, ms: ms, error: ok ? nil : "HTTP \(status)", body: ok ? String(body.prefix(64)) : nil)
                if !keep {
                    close(fd)
                    fd = -1
                }
            } else if timedOut {
                record(ok: false, ms: ms, error: "no response within 5 s")
                close(fd)
                fd = -1
            } else if data.isEmpty {
                // closed before answering anything: an idle keep-alive connection being shut (HAProxy soft-stop)
                // races with our request. The request was not processed; retrying it on a new connection is what
                // every HTTP client does for an idempotent GET on a reused connection (RFC 9110 §9.2.2).
                close(fd)
                fd = -1
                if served > 0 {
                    lock.withLock { result.resent += 1 }
                } else {
                    record(ok: false, ms: ms, error: "closed without a response")
                }
            } else {
                record(ok: false, ms: ms, error: "response cut short")
                close(fd)
                fd = -1
            }
        }
        if fd >= 0 { close(fd) }
    }

    private func connectTo() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 {
            let saved = errno
            close(fd)
            errno = saved
            return -1
        }
        return fd
    }

    /// Status, header length, body length and whether the connection stays open.
    static func parseHead(_ data: [UInt8]) -> (Int, Int, Int, Bool)? {
        guard data.count >= 4 else { return nil }
        var end = -1
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
            end = i
            break
        }
        guard end >= 0 else { return nil }
        let head = String(decoding: data[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        var length = 0
        var keep = true
        for line in lines.dropFirst() {
            let l = line.lowercased()
            if l.hasPrefix("content-length:") { length = Int(l.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if l.hasPrefix("connection:") && l.contains("close") { keep = false }
        }
        return (status, end + 4, length, keep)
    }
}
