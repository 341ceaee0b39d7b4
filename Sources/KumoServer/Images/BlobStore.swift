import Crypto
import Foundation
import KumoModel
import Logging
import NIOCore

/// Content-addressed blob storage: `<dataDir>/blobs/sha256/<hex>`, each file named by the SHA-256 of its bytes.
///
/// A blob appears only complete and verified: uploads stream into a temp file in the same directory while being
/// hashed, and are renamed into place only when the digest matches. A mismatch, an upload over the size limit, or
/// a connection cut short removes the temp file, so nothing half-stored is ever visible (or garbage-collected by
/// accident: temp files are only swept once they are old).
public struct BlobStore: Sendable {
    public let directory: String
    let logger: Logger

    public init(dataDir: String, logger: Logger) {
        self.directory = dataDir + "/blobs/sha256"
        self.logger = logger
    }

    static let tempPrefix = ".upload-"

    public func path(_ digest: String) throws(KumoError) -> String {
        if let why = Names.validateDigest(digest) { throw KumoError(.badRequest, "digest \(why)", field: "digest") }
        return directory + "/" + digest.dropFirst("sha256:".count)
    }

    /// The size of a stored blob, nil when it is not stored.
    public func size(_ digest: String) throws(KumoError) -> Int64? {
        var st = stat()
        guard stat(try path(digest), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    func prepare() throws(KumoError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KumoError(.internal, "failed to create blob directory \(directory): \(error)", cause: error)
        }
    }

    /// Streams `body` into the store as `digest`. Returns whether it was newly stored (false: already present,
    /// the body is drained and dropped). Over `maxBytes` → 413; digest mismatch → 422 (`field: digest`).
    public func ingest<Body: AsyncSequence>(_ digest: String, body: Body, maxBytes: Int64) async throws(KumoError)
        -> (created: Bool, size: Int64)
    where Body.Element == ByteBuffer {
        let final = try path(digest)
        try prepare()
        let temp = directory + "/" + Self.tempPrefix + UUID().uuidString
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw KumoError(.internal, "failed to create \(temp): \(String(cString: strerror(errno)))")
        }
        var closed = false
        var keep = false
        defer {
            if !closed { close(fd) }
            if !keep { unlink(temp) }
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await buffer in body {
                size += Int64(buffer.readableBytes)
                if size > maxBytes {
                    throw KumoError(
                        .payloadTooLarge, "blob is over the limit of \(maxBytes) bytes (server option --max-blob-bytes)",
                        field: "digest")
                }
                try buffer.withUnsafeReadableBytes { raw throws(KumoError) in
                    hasher.update(bufferPointer: raw)
                    var offset = 0
                    while offset < raw.count {
                        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw KumoError(.internal, "failed to write \(temp): \(String(cString: strerror(errno)))")
                        }
                        offset += n
                    }
                }
            }
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.badRequest, "blob upload was cut short after \(size) bytes: \(error)", cause: error)
        }
        let actual = "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard actual == digest else {
            throw KumoError(
                .invalid, "uploaded content has digest \(actual), not \(digest) (\(size) bytes received): nothing stored",
                field: "digest")
        }
        if fsync(fd) != 0 { throw KumoError(.internal, "failed to sync \(temp): \(String(cString: strerror(errno)))") }
        close(fd)
        closed = true
        if let existing = try self.size(digest), existing == size { return (false, size) }
        guard rename(temp, final) == 0 else {
            throw KumoError(.internal, "failed to store blob \(digest): \(String(cString: strerror(errno)))")
        }
        keep = true
        logger.debug("blob stored", metadata: ["digest": "\(digest)", "bytes": "\(size)"])
        return (true, size)
    }

    /// Stores bytes held in memory (manifests); returns their digest.
    @discardableResult
    public func put(_ bytes: [UInt8]) async throws(KumoError) -> String {
        let digest = "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        if try size(digest) == Int64(bytes.count) { return digest }
        _ = try await ingest(digest, body: [ByteBuffer(bytes: bytes)].async, maxBytes: Int64(bytes.count))
        return digest
    }

    /// Reads a small blob (manifest, config) into memory; over `limit` → 422.
    public func read(_ digest: String, limit: Int = 4 << 20) throws(KumoError) -> [UInt8] {
        let p = try path(digest)
        guard let size = try size(digest) else { throw KumoError(.notFound, "blob \(digest) not found", field: "digest") }
        guard size <= limit else {
            throw KumoError(.invalid, "blob \(digest) is \(size) bytes, over the \(limit) bytes expected here", field: "digest")
        }
        guard let data = FileManager.default.contents(atPath: p) else {
            throw KumoError(.internal, "failed to read blob \(digest)")
        }
        return Array(data)
    }

    /// The stored blobs with their size and modification (= upload) time; temp files as `digest == nil`.
    func entries() -> [(name: String, digest: String?, size: Int64, modified: Date)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var out: [(String, String?, Int64, Date)] = []
        for name in names.sorted() {
            var st = stat()
            guard stat(directory + "/" + name, &st) == 0 else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))
            let digest = name.hasPrefix(Self.tempPrefix) ? nil : "sha256:" + name
            out.append((name, digest.flatMap { Names.validateDigest($0) == nil ? $0 : nil }, Int64(st.st_size), modified))
        }
        return out
    }

    func remove(name: String) {
        unlink(directory + "/" + name)
    }
}

extension Array where Element == ByteBuffer {
    /// An async sequence over buffers already in memory.
    var async: AsyncStream<ByteBuffer> {
        let copy = self
        return AsyncStream { continuation in
            for b in copy { continuation.yield(b) }
            continuation.finish()
        }
    }
}
