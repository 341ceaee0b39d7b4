import Foundation
import KumoModel
import KumoSystem
import Logging
import Synchronization

/// Tags images: checks a pushed OCI manifest against the blob store (every blob present with its stated size,
/// the config is JSON, every layer a complete tar), stores the manifest as a blob, and records the tag on the
/// Image object through `ResourceService` (so history and field ownership apply). Also collects blobs no Image
/// refers to any more.
public final class ImageService: Sendable {
    public let blobs: BlobStore
    let resources: ResourceService
    let command: Command
    let logger: Logger
    /// Blobs younger than this are never collected: a push in progress has uploaded them but not tagged them yet.
    let gcGrace: Duration
    let gcState = Mutex(GCSnapshot())

    struct GCSnapshot: Sendable {
        var lastRun: String?
        var removedTotal = 0
        var removedBytesTotal: Int64 = 0
        var lastError: String?
    }

    public init(blobs: BlobStore, resources: ResourceService, command: Command, gcGrace: Duration, logger: Logger) {
        self.blobs = blobs
        self.resources = resources
        self.command = command
        self.gcGrace = gcGrace
        self.logger = logger
    }

    /// `PUT /api/v1/images/{name}/tags/{tag}`: validates `manifestBytes` and points the tag at it. Nothing is
    /// tagged when any check fails. Returns the Image and the manifest digest.
    public func tag(name: String, tag: String, manifestBytes: [UInt8], options: WriteOptions) async throws(KumoError)
        -> (image: StoredObject, digest: String, created: Bool)
    {
        if let why = Names.validateImageName(name) { throw KumoError(.invalid, "image name \(why)", field: "metadata.name") }
        if let why = Names.validateImageTag(tag) { throw KumoError(.invalid, "tag \(why)", field: "tag") }
        let manifest = try decodeManifest(manifestBytes)
        try await check(manifest)
        let digest = try await blobs.put(manifestBytes)
        let ref = ObjectRef(.image, name: name)
        let object: JSONValue = [
            "apiVersion": .string(Kind.apiVersion), "kind": .string(Kind.image.rawValue),
            "metadata": ["name": .string(name)], "spec": ["tags": .object([tag: .string(digest)])],
        ]
        for _ in 0..<5 {
            do {
                _ = try await resources.get(ref)
            } catch let e where e.code == .notFound {
                do {
                    let created = try await resources.create(.image, project: nil, body: try withStatus(object), options: options)
                    logger.info("image tagged", metadata: ["image": "\(name):\(tag)", "digest": "\(digest)"])
                    return (created, digest, true)
                } catch let e where e.code == .alreadyExists {
                    continue
                }
            }
            let updated = try await resources.modify(ref, operation: "patch", precondition: nil, options: options) {
                current throws(KumoError) in
                try withStatus(JSONMergePatch.apply(["spec": ["tags": .object([tag: .string(digest)])]], to: current))
            }
            logger.info("image tagged", metadata: ["image": "\(name):\(tag)", "digest": "\(digest)"])
            return (updated, digest, false)
        }
        throw KumoError(.conflict, "failed to tag \(name):\(tag): the image keeps changing; retry")
    }

    /// `DELETE /api/v1/images/{name}/tags/{tag}`: removes one tag (the Image stays, possibly without tags).
    public func untag(name: String, tag: String, options: WriteOptions) async throws(KumoError) -> StoredObject {
        let ref = ObjectRef(.image, name: name)
        let result = try await resources.modify(ref, operation: "patch", precondition: nil, options: options) {
            current throws(KumoError) in
            guard current["spec"]?["tags"]?[tag] != nil else {
                throw KumoError(.notFound, "image \(name) has no tag \(tag)", field: "tag")
            }
            return try withStatus(JSONMergePatch.apply(["spec": ["tags": .object([tag: .null])]], to: current))
        }
        logger.info("image untagged", metadata: ["image": "\(name):\(tag)"])
        return result
    }

    func decodeManifest(_ bytes: [UInt8]) throws(KumoError) -> OCIManifest {
        let manifest: OCIManifest
        do {
            manifest = try decode(jsonBytes: bytes, as: OCIManifest.self)
        } catch {
            throw KumoError(
                .invalid,
                "the body is not an OCI image manifest (schemaVersion, mediaType, config, layers): \(error.message)",
                field: "manifest", cause: error)
        }
        let problems = manifest.problems()
        if !problems.isEmpty { throw KumoError.invalid(problems, kind: "manifest") }
        return manifest
    }

    /// Every referenced blob is stored with its stated size; the config parses as JSON; each layer is a complete
    /// tar of its media type (a truncated or corrupt layer → 422 naming it).
    func check(_ manifest: OCIManifest) async throws(KumoError) {
        try requireBlob(manifest.config, field: "config")
        do {
            _ = try JSONValue(parsing: try blobs.read(manifest.config.digest))
        } catch {
            throw KumoError(
                .invalid, "config blob \(manifest.config.digest) is not JSON: \(error.message)", field: "config.digest")
        }
        let tar = Tar(command: command)
        for (i, layer) in manifest.layers.enumerated() {
            try requireBlob(layer, field: "layers[\(i)]")
            if VMImageMediaType.isVMLayer(layer.mediaType) { continue }  // kernel, initrd, disk: opaque bytes
            let gzip = OCIMediaType.layerIsGzip(layer.mediaType) ?? true
            do {
                try await tar.validate(try blobs.path(layer.digest), compression: gzip ? .gzip : .none)
            } catch {
                throw KumoError(
                    .invalid,
                    "layer \(i) (\(layer.digest)) is not a readable \(gzip ? "gzip-compressed " : "")tar "
                        + "(corrupt or truncated?): \(Self.lastLine(error.message))",
                    field: "layers[\(i)].digest")
            }
        }
    }

    func requireBlob(_ descriptor: OCIDescriptor, field: String) throws(KumoError) {
        guard let size = try blobs.size(descriptor.digest) else {
            throw KumoError(
                .invalid, "blob \(descriptor.digest) is not stored: upload it first (PUT /api/v1/blobs/{digest})",
                field: field + ".digest")
        }
        guard size == descriptor.size else {
            throw KumoError(
                .invalid, "blob \(descriptor.digest) is \(size) bytes, the manifest says \(descriptor.size)",
                field: field + ".size")
        }
    }

    static func lastLine(_ s: String) -> String {
        s.split(separator: "\n").suffix(2).joined(separator: "; ")
    }

    /// The object with `status` recomputed from its tags: distinct manifests (`digests`), the number of distinct
    /// layers, and the bytes of every distinct blob they reference.
    func withStatus(_ object: JSONValue) throws(KumoError) -> JSONValue {
        var digests = Set<String>()
        for (_, value) in object["spec"]?["tags"]?.objectValue ?? [:] {
            if let d = value.stringValue { digests.insert(d) }
        }
        var sizes: [String: Int64] = [:]
        var layers = Set<String>()
        for digest in digests {
            guard let bytes = try? blobs.read(digest), let m = try? decode(jsonBytes: bytes, as: OCIManifest.self)
            else { continue }
            sizes[digest] = Int64(bytes.count)
            sizes[m.config.digest] = m.config.size
            for l in m.layers {
                sizes[l.digest] = l.size
                layers.insert(l.digest)
            }
        }
        var copy = object
        copy["status"] = [
            "sizeBytes": .number(Double(sizes.values.reduce(0, +))), "layers": .number(Double(layers.count)),
            "digests": .array(digests.sorted().map { .string($0) }),
        ]
        return copy
    }
}
