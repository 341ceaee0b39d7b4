import Foundation
import KumoModel

#if canImport(Glibc)
    import Glibc
#endif

/// A container's output file, `<directory>/<id>.log`. The container writes to it directly through the
/// descriptor handed to runc (O_APPEND), so output keeps flowing while the agent restarts and nothing is lost
/// in a pipe. Rotation is copy-and-truncate because the writer's descriptor cannot be swapped: the current
/// content is copied to `<id>.log.1` (older copies shift to `.2` … `.keep`) and the file is truncated; with
/// O_APPEND the container's next write lands at the new end. Bytes written between the copy and the truncate
/// are lost — the accepted price of this scheme (logrotate's copytruncate has the same window).
public struct ContainerLog: Sendable {
    public let directory: String
    public let id: String
    /// Rotate when the file reaches this size.
    public let maxBytes: Int64
    /// Rotated copies to keep.
    public let keep: Int

    public init(directory: String, id: String, maxBytes: Int64 = 10 << 20, keep: Int = 3) throws(KumoError) {
        try SafeName.check(id, what: "container id", maxLength: 64)
        try SafeName.checkPath(directory, what: "log directory")
        self.directory = directory
        self.id = id
        self.maxBytes = max(1, maxBytes)
        self.keep = max(1, keep)
    }

    public var path: String { directory + "/" + id + ".log" }

    /// `<id>.log.<n>`, n in 1…keep (1 = most recent).
    public func rotatedPath(_ n: Int) -> String { path + "." + String(n) }

    /// Opens the log for the container to write: O_WRONLY|O_APPEND|O_CREAT, mode 0640, close-on-exec (the
    /// spawn maps it onto the child's stdout/stderr explicitly). The caller closes it once runc has started.
    public func open() throws(KumoError) -> Int32 {
        mkdir(directory, 0o750)
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw KumoError(.internal, "failed to open log \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Current size in bytes (0 when the file does not exist).
    public func size() -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Rotates when the log has reached `maxBytes`; returns whether it did. Call it periodically.
    @discardableResult
    public func rotateIfNeeded() throws(KumoError) -> Bool {
        guard size() >= maxBytes else { return false }
        unlink(rotatedPath(keep))
        if keep > 1 {
            for n in stride(from: keep - 1, through: 1, by: -1) { rename(rotatedPath(n), rotatedPath(n + 1)) }
        }
        try copy(from: path, to: rotatedPath(1))
        guard truncate(path, 0) == 0 else {
            throw KumoError(.internal, "failed to truncate log \(path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// The last `lines` lines of the current file (without older rotations), read from the end in blocks so a
    /// big log costs only what is shown.
    public func tail(lines: Int) throws(KumoError) -> String {
        guard lines > 0 else { return "" }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return "" }
            throw KumoError(.internal, "failed to read log \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "" }
        var end = Int64(st.st_size)
        var collected: [UInt8] = []
        let block: Int64 = 64 << 10
        while end > 0 {
            let start = max(0, end - block)
            var chunk = [UInt8](repeating: 0, count: Int(end - start))
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
            guard n > 0 else { break }
            collected = Array(chunk[0..<n]) + collected
            end = start
            // A trailing newline ends the last line rather than starting an empty one.
            let body = collected.last == UInt8(ascii: "\n") ? collected.dropLast() : collected[...]
            if body.lazy.filter({ $0 == UInt8(ascii: "\n") }).count >= lines { break }
        }
        var body = collected[...]
        let hadNewline = body.last == UInt8(ascii: "\n")
        if hadNewline { body = body.dropLast() }
        var count = 0
        var cut = body.startIndex
        for i in body.indices.reversed() where body[i] == UInt8(ascii: "\n") {
            count += 1
            if count == lines {
                cut = i + 1
                break
            }
        }
        return String(decoding: body[cut...], as: UTF8.self) + (hadNewline ? "\n" : "")
    }

    /// New bytes as they are written (`kumo logs -f`), starting at the current end (or `offset`). Polls every
    /// `interval`; a file that shrank was rotated, so reading restarts from its beginning. Ends when the
    /// consuming task is cancelled.
    public func follow(from offset: Int64? = nil, interval: Duration = .milliseconds(200))
        -> AsyncThrowingStream<[UInt8], any Error>
    {
        let path = self.path
        let start = offset ?? size()
        return AsyncThrowingStream { continuation in
            let task = Task {
                var position = start
                while !Task.isCancelled {
                    var st = stat()
                    if stat(path, &st) == 0 {
                        let size = Int64(st.st_size)
                        if size < position { position = 0 }
                        if size > position, let bytes = Self.read(path, from: position, upTo: size) {
                            position += Int64(bytes.count)
                            if !bytes.isEmpty { continuation.yield(bytes) }
                            continue
                        }
                    }
                    do { try await Task.sleep(for: interval) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Deletes the log and its rotations (missing files are fine).
    public func remove() {
        unlink(path)
        for n in 1...max(keep, 1) { unlink(rotatedPath(n)) }
    }

    static func read(_ path: String, from: Int64, upTo: Int64) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let count = Int(min(upTo - from, 1 << 20))
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(from)) }
        guard n >= 0 else { return nil }
        return Array(buffer[0..<n])
    }

    private func copy(from source: String, to destination: String) throws(KumoError) {
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw KumoError(.internal, "failed to rotate log \(source): \(String(cString: strerror(errno)))")
        }
        defer { close(input) }
        let output = Glibc.open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard output >= 0 else {
            throw KumoError(.internal, "failed to rotate log to \(destination): \(String(cString: strerror(errno)))")
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                throw KumoError(.internal, "failed to rotate log \(source): \(String(cString: strerror(errno)))")
            }
            var written = 0
            while written < n {
                let w = buffer[written..<n].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw KumoError(.internal, "failed to rotate log to \(destination): \(String(cString: strerror(errno)))")
                }
                written += w
            }
        }
    }
}
