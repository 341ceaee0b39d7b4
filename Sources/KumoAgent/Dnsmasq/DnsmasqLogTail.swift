import Foundation

/// Follows a log file that is rotated by renaming: keeps the file open, reads what was appended, and when the path
/// names a new file (another inode), drains the old one and switches to the new one from its start.
struct DnsmasqLogTail: Sendable {
    private(set) var path: String?
    private var fd: Int32 = -1
    private var inode: UInt64 = 0
    private var pending: [UInt8] = []
    private(set) var offset: UInt64 = 0

    var isOpen: Bool { fd >= 0 }

    /// Opens `path` (creating nothing); `fromStart` false starts at its current end.
    mutating func open(path: String, fromStart: Bool) {
        close()
        self.path = path
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var st = stat()
        fstat(fd, &st)
        self.fd = fd
        inode = UInt64(st.st_ino)
        offset = fromStart ? 0 : UInt64(st.st_size)
        lseek(fd, off_t(offset), SEEK_SET)
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        pending = []
    }

    /// Complete new lines since the last call, in order (also across a rotation).
    mutating func readLines() -> [String] {
        guard let path else { return [] }
        if fd < 0 {
            open(path: path, fromStart: true)
            if fd < 0 { return [] }
        }
        var lines = drain()
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_ino) != inode {
            open(path: path, fromStart: true)
            lines += drain()
        } else if stat(path, &st) == 0, UInt64(st.st_size) < offset {
            // truncated in place: start again
            offset = 0
            lseek(fd, 0, SEEK_SET)
            lines += drain()
        }
        return lines
    }

    private mutating func drain() -> [String] {
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += UInt64(n)
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                pending += buffer[start..<i]
                lines.append(String(decoding: pending, as: UTF8.self))
                pending = []
                start = i + 1
            }
            pending += buffer[start..<n]
        }
        return lines
    }
}
