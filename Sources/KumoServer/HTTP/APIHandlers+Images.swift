import Foundation
import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel
import NIOCore

extension APIHandlers {
    /// `PUT|GET|HEAD /api/v1/blobs/{digest}`. Uploads (admin) stream to disk under their own size limit instead of
    /// the 3 MiB body limit; reads (admin, project and node tokens — nodes pull images) stream from disk.
    func blob(_ request: Request, _ path: ResolvedPath, identity: Identity) async throws(KumoError) -> Response {
        let digest = path.name ?? ""
        let blobs = core.images.blobs
        switch request.method {
        case .put:
            try Authorizer.requireAdmin(identity, "upload blobs")
            _ = try blobs.path(digest)
            let limit = core.config.maxBlobBytes
            if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > limit {
                throw KumoError(
                    .payloadTooLarge, "blob of \(length) bytes is over the limit of \(limit) bytes (--max-blob-bytes)",
                    field: "digest")
            }
            let (created, size) = try await blobs.ingest(digest, body: request.body, maxBytes: limit)
            return Self.json(
                ["digest": .string(digest), "size": .number(Double(size)), "created": .bool(created)], status: created ? 201 : 200)
        case .get, .head:
            try Authorizer.requireBlobReader(identity)
            guard let size = try blobs.size(digest) else {
                throw KumoError(.notFound, "blob \(digest) not found", field: "digest")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[Self.digestHeader] = digest
            if request.method == .head {
                headers[.contentLength] = String(size)
                return Response(status: .ok, headers: headers, body: .init())
            }
            let file = try blobs.path(digest)
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw KumoError(.notFound, "blob \(digest) not found", field: "digest")
            }
            let body = ResponseBody(contentLength: Int(size)) { writer in
                defer { try? handle.close() }
                while let chunk = try handle.read(upToCount: 256 << 10), !chunk.isEmpty {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        default:
            throw KumoError(.methodNotAllowed, "\(request.method) is not allowed here")
        }
    }

    /// `PUT /api/v1/images/{name}/tags/{tag}` (body: an OCI image manifest) and `DELETE` of a tag.
    func imageTag(_ request: Request, _ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError)
        -> Response
    {
        let name = path.name ?? ""
        let tag = path.tag ?? ""
        let options = WriteOptions(manager: try identity.manager(requested: query.string("manager")), force: true)
        switch request.method {
        case .put:
            try Authorizer.authorize(identity, .update, .image, project: nil, name: name)
            let body = try await readBody(request)
            let result = try await core.images.tag(name: name, tag: tag, manifestBytes: body, options: options)
            var response = Self.json(result.image.object, status: result.created ? 201 : 200)
            response.headers[Self.digestHeader] = result.digest
            return response
        case .delete:
            try Authorizer.authorize(identity, .update, .image, project: nil, name: name)
            let result = try await core.images.untag(name: name, tag: tag, options: options)
            await core.images.collectGarbageLogging()
            return Self.json(result.object)
        default:
            throw KumoError(.methodNotAllowed, "\(request.method) is not allowed here")
        }
    }

    static let digestHeader = HTTPField.Name("Kumo-Content-Digest")!
}
