import Foundation
import KumoModel
import KumoSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal QEMU Machine Protocol client: connect to the VM's unix socket, read the greeting, negotiate
/// capabilities, run one command, read its `return` (events in between are skipped). Blocking I/O with a
/// receive timeout, run off the cooperative pool's hot path (one short exchange per stop/reboot).
public enum QMPClient {
    /// Runs `command` (e.g. `system_powerdown`, `system_reset`, `query-status`); returns the `return` value.
    public static func execute(socket path: String, command: String, timeout: Duration = .seconds(3)) throws(KumoError) -> JSONValue {
        let fd = try UnixSocket.connect(path: path, timeout: timeout, what: "QMP")
        defer { close(fd) }
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
