import AsyncHTTPClient
import Foundation
import KumoModel
import NIOCore
import NIOHTTP1

/// Streaming transfers of image blobs: files go to and come from the server in chunks, never whole in memory,
/// with a progress callback (bytes so far) per chunk.
extension KumoClient {
    /// Blobs can be gigabytes: a transfer may take this long before it is given up.
    public static let blobTimeout: TimeAmount = .hours(2)

    /// The size of a stored blob, nil when the server does not have it (`HEAD /api/v1/blobs/{digest}`).
    public func blobSize(_ digest: String) async throws(KumoError) -> Int64? {
        var request = HTTPClientRequest(url: baseURL + APIPaths.blob(digest))
        request.method = .HEAD
        authorize(&request)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            if status == 404 { return nil }
            guard (200..<300).contains(status) else {
                throw KumoError(status == 403 ? .forbidden : .internal, "HEAD \(APIPaths.blob(digest)) answered \(status)")
            }
            return response.headers.first(name: "Content-Length").flatMap { Int64($0) } ?? 0
        } catch let e as KumoError {
            throw e
        } catch {
            throw unreachable(error)
        }
    }

    /// `PUT`s the file at `file` to `path`, streamed. Returns the server's JSON answer.
    @discardableResult
    public func upload(
        _ path: String, fromFile file: String, contentType: String = "application/octet-stream",
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws(KumoError) -> Response {
        var st = stat()
        guard stat(file, &st) == 0 else {
            throw KumoError(.notFound, "failed to read \(file): \(String(cString: strerror(errno)))")
        }
        let size = Int64(st.st_size)
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .PUT
        authorize(&request)
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .stream(FileChunks(path: file, progress: progress), length: .known(size))
        do {
            let response = try await http.execute(request, timeout: Self.blobTimeout)
            let bytes = Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { throw Self.error(status: status, body: bytes) }
            return Response(status: status, headers: response.headers, body: bytes)
        } catch let e as KumoError {
            throw e
        } catch let e as FileChunks.ReadError {
            throw KumoError(.internal, "failed to read \(file) while uploading it: \(e.message)")
        } catch {
            throw unreachable(error)
        }
    }

    /// `GET`s `path` into `file` (created or truncated), streamed. Returns the number of bytes written. On any
    /// failure the partial file is removed.
    @discardableResult
    public func download(_ path: String, to file: String, progress: @escaping @Sendable (Int64) -> Void = { _ in })
        async throws(KumoError) -> Int64
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        authorize(&request)
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw KumoError(.internal, "failed to create \(file): \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(file) }
        }
        do {
            let response = try await http.execute(request, timeout: Self.blobTimeout)
            let status = Int(response.status.code)
            guard status == 200 else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                throw Self.error(status: status, body: body)
            }
            var written: Int64 = 0
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { raw in
                    var offset = 0
                    while offset < raw.count {
                        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw KumoError(.internal, "failed to write \(file): \(String(cString: strerror(errno)))")
                        }
                        offset += n
                    }
                }
                written += Int64(buffer.readableBytes)
                progress(written)
            }
            ok = true
            return written
        } catch let e as KumoError {
            throw e
        } catch {
            throw unreachable(error)
        }
    }

    func authorize(_ request: inout HTTPClientRequest) {
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "kumo/\(KumoVersion.current)")
    }
}

/// A file read in 1 MiB chunks as an async sequence of buffers (an upload body).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct ReadError: Error { var message: String }

    let path: String
    let progress: @Sendable (Int64) -> Void

    func makeAsyncIterator() -> Iterator { Iterator(path: path, progress: progress) }

    struct Iterator: AsyncIteratorProtocol {
        let path: String
        let progress: @Sendable (Int64) -> Void
        var handle: FileHandle?
        var sent: Int64 = 0
        var done = false

        init(path: String, progress: @escaping @Sendable (Int64) -> Void) {
            self.path = path
            self.progress = progress
        }

        mutating func next() async throws -> ByteBuffer? {
            if done { return nil }
            if handle == nil {
                guard let h = FileHandle(forReadingAtPath: path) else {
                    throw ReadError(message: String(cString: strerror(errno)))
                }
                handle = h
            }
            guard let chunk = try handle?.read(upToCount: 1 << 20), !chunk.isEmpty else {
                try? handle?.close()
                done = true
                return nil
            }
            sent += Int64(chunk.count)
            progress(sent)
            return ByteBuffer(bytes: chunk)
        }
    }
}
