import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The last non-empty line of a file, from a bounded read of its tail (a huge log costs `maxBytes`).
enum LastLogLine {
    /// The last line of `bytes` with something other than white space in it (trimmed; at most 500 characters).
    static func lastLine(_ bytes: some Collection<UInt8>) -> String? {
        let text = String(decoding: Array(bytes), as: UTF8.self)
        guard let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last(where: {
            !$0.allSatisfy(\.isWhitespace)
        }) else { return nil }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.count > 500 ? String(trimmed.suffix(500)) : trimmed
    }

    /// The last non-empty line among the last `maxBytes` of `path`; nil when the file is missing or has none.
    static func read(path: String, maxBytes: Int = 16 << 10) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let size = Int64(st.st_size)
        let start = max(0, size - Int64(maxBytes))
        var buffer = [UInt8](repeating: 0, count: Int(size - start))
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard n > 0 else { return nil }
        var bytes = buffer[0..<n]
        // a cut first line is only a fragment: drop it unless it is all there is
        if start > 0, let nl = bytes.firstIndex(of: UInt8(ascii: "\n")), nl + 1 < bytes.endIndex { bytes = bytes[(nl + 1)...] }
        return lastLine(bytes)
    }
}
