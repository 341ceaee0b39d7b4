import Foundation
import KumoModel

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal QEMU Machine Protocol client: connect to the VM's unix socket, read the greeting, negotiate
/// capabilities, run one command, read its `return` (events in between are skipped). Blocking I/O with a
/// receive timeout, run off the cooperative pool's hot path (one short exchange per stop/reboot).
public enum QMPClient {
    /// Runs `command` (e.g. `system_powerdown`, `system_reset`, `query-status`); returns the `return` value.
    public static func execute(socket path: String, command: String, timeout: Duration = .seconds(3)) throws(KumoError) -> JSONValue {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw KumoError(.internal, "failed to create a QMP socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw KumoError(.invalid, "QMP socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            throw KumoError(.unavailable, "failed to connect to QMP at \(path): \(String(cString: strerror(errno)))")
        }
        var reader = LineReader(fd: fd)
        _ = try reader.next()  // greeting
        try send(fd, #"{"execute":"qmp_capabilities"}"#)
        _ = try reply(&reader, what: "qmp_capabilities")
        try send(fd, #"{"execute":"\#(command)"}"#)
        return try reply(&reader, what: command)
    }

    static func send(_ fd: Int32, _ text: String) throws(KumoError) {
        let bytes = Array((text + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw KumoError(.unavailable, "failed to write to QMP: \(String(cString: strerror(errno)))") }
    }

    static func reply(_ reader: inout LineReader, what: String) throws(KumoError) -> JSONValue {
        for _ in 0..<64 {
            let line = try reader.next()
            guard let value = try? JSONValue(parsing: Array(line.utf8)) else { continue }
            if let r = value["return"] { return r }
            if let e = value["error"] {
                throw KumoError(.internal, "QMP \(what) failed: \(e["desc"]?.stringValue ?? e.jsonString)")
            }
        }
        throw KumoError(.internal, "QMP \(what): no reply")
    }

    struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []

        init(fd: Int32) { self.fd = fd }

        mutating func next() throws(KumoError) -> String {
            while true {
                if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self)
                    buffer.removeSubrange(...nl)
                    return line
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { throw KumoError(.unavailable, "QMP connection closed or timed out") }
                buffer += chunk[0..<n]
            }
        }
    }
}
