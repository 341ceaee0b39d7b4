import Foundation
import KumoModel
import KumoSystem

/// Turns what `kumo image push` is given — a directory, a tar, an OCI image layout, or the host's busybox — into
/// blob files ready to upload: layers (gzip tar) with their digests and diff IDs, and the config.
public struct ImageBuilder: Sendable {
    public let command: Command
    /// Scratch space for the layer files; the caller removes it.
    public let workDir: String

    public init(command: Command, workDir: String) {
        self.command = command
        self.workDir = workDir
    }

    /// Reads (validates) archives; `writer` makes them.
    var tar: Tar { Tar(command: command) }
    var writer: TarWriter { TarWriter(command: command) }

    /// A blob on local disk.
    public struct BlobFile: Sendable, Equatable {
        public var path: String
        public var descriptor: OCIDescriptor

        public init(path: String, descriptor: OCIDescriptor) {
            self.path = path
            self.descriptor = descriptor
        }
    }

    /// One gzip layer from the contents of `directory` (reproducible: same tree, same digest).
    public func layer(fromDirectory directory: String) async throws(KumoError) -> (blob: BlobFile, diffID: String) {
        let plain = workDir + "/layer-\(UUID().uuidString.prefix(8)).tar"
        try await writer.createLayer(from: directory, to: plain, gzip: false)
        return try await layer(fromTar: plain)
    }

    /// One gzip layer from a tar file (plain or gzip). The tar is read to its end first: a corrupt or truncated
    /// archive is refused here, before anything is uploaded.
    public func layer(fromTar file: String) async throws(KumoError) -> (blob: BlobFile, diffID: String) {
        guard FileManager.default.fileExists(atPath: file) else {
            throw KumoError(.notFound, "\(file) not found", field: "from-tar")
        }
        let gzipped = Tar.isGzip(file)
        do {
            try await tar.validate(file, compression: gzipped ? .gzip : .none)
        } catch {
            throw KumoError(.invalid, error.message, field: "from-tar")
        }
        let id = UUID().uuidString.prefix(8)
        let compressed: String
        let diffID: String
        if gzipped {
            let plain = workDir + "/plain-\(id).tar"
            try await writer.gunzip(file, to: plain)
            diffID = try FileDigest.sha256(ofFile: plain).digest
            unlink(plain)
            compressed = file
        } else {
            diffID = try FileDigest.sha256(ofFile: file).digest
            compressed = workDir + "/layer-\(id).tar.gz"
            try await writer.gzip(file, to: compressed)
        }
        let (digest, size) = try FileDigest.sha256(ofFile: compressed)
        return (BlobFile(path: compressed, descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: size)), diffID)
    }

    /// The config blob for `layers` run with `run`.
    public func config(diffIDs: [String], run: OCIImageConfig.RunConfig) throws(KumoError) -> BlobFile {
        let config = OCIImageConfig(
            architecture: OCIImageConfig.hostArchitecture, config: run, rootfs: .init(diffIDs: diffIDs),
            created: Timestamp(millisecondsSinceEpoch: 0).rfc3339)
        return try write(config, mediaType: OCIMediaType.config, name: "config.json")
    }

    /// A file pushed as it is (VM kernel, initrd, disk): its digest and size, no copy.
    public func file(_ path: String, mediaType: String) throws(KumoError) -> BlobFile {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw KumoError(.notFound, "cannot read \(path)", field: "file")
        }
        let (digest, size) = try FileDigest.sha256(ofFile: path)
        return BlobFile(path: path, descriptor: OCIDescriptor(mediaType: mediaType, digest: digest, size: size))
    }

    public func write<T: Encodable>(_ value: T, mediaType: String, name: String) throws(KumoError) -> BlobFile {
        let bytes = encodeJSON(value)
        let path = workDir + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw KumoError(.internal, "failed to write \(path)")
        }
        return BlobFile(
            path: path, descriptor: OCIDescriptor(mediaType: mediaType, digest: FileDigest.sha256(of: bytes), size: Int64(bytes.count)))
    }

    /// Reads an OCI image layout: `index.json` → the manifest named `ref` (annotation
    /// `org.opencontainers.image.ref.name`, or the only one) → config and layers, each verified against its digest.
    /// Returns the manifest bytes as they are (so its digest stays the same) and the blobs to upload.
    public func layout(_ directory: String, ref: String?) throws(KumoError) -> (manifest: [UInt8], blobs: [BlobFile]) {
        let index: OCIIndex = try decode(directory + "/index.json", what: "index.json of \(directory)")
        let candidates = index.manifests.filter { $0.mediaType == OCIMediaType.manifest || $0.mediaType == OCIMediaType.dockerManifest }
        let chosen: OCIDescriptor
        if let ref {
            guard let m = candidates.first(where: {
                let name = $0.annotations?[OCIDescriptor.refNameAnnotation] ?? ""
                return name == ref || name.hasSuffix(":" + ref)
            }) else {
                let names = candidates.compactMap { $0.annotations?[OCIDescriptor.refNameAnnotation] }
                throw KumoError(
                    .notFound, "no manifest named \(ref) in \(directory)/index.json (names: \(names.joined(separator: ", ")))",
                    field: "ref")
            }
            chosen = m
        } else {
            guard candidates.count == 1 else {
                throw KumoError(
                    .invalid, "\(directory)/index.json lists \(candidates.count) image manifests: pick one with --ref", field: "ref")
            }
            chosen = candidates[0]
        }
        let manifestFile = try verified(directory, chosen)
        guard let bytes = FileManager.default.contents(atPath: manifestFile.path) else {
            throw KumoError(.internal, "failed to read \(manifestFile.path)")
        }
        let manifest: OCIManifest = try decode(manifestFile.path, what: "manifest \(chosen.digest)")
        let problems = manifest.problems()
        if !problems.isEmpty { throw KumoError.invalid(problems, kind: "manifest in \(directory)") }
        var blobs = [try verified(directory, manifest.config)]
        for layer in manifest.layers { blobs.append(try verified(directory, layer)) }
        return (Array(bytes), blobs)
    }

    /// A layout blob whose content matches its descriptor (digest and size).
    func verified(_ directory: String, _ descriptor: OCIDescriptor) throws(KumoError) -> BlobFile {
        guard let hex = FileDigest.hex(of: descriptor.digest) else {
            throw KumoError(.invalid, "invalid digest \(descriptor.digest) in \(directory)", field: "digest")
        }
        let path = directory + "/blobs/sha256/" + hex
        let (digest, size) = try FileDigest.sha256(ofFile: path)
        guard digest == descriptor.digest, size == descriptor.size else {
            throw KumoError(
                .invalid, "\(path) does not match its descriptor: digest \(digest), \(size) bytes; expected "
                    + "\(descriptor.digest), \(descriptor.size) bytes", field: "digest")
        }
        return BlobFile(path: path, descriptor: descriptor)
    }

    func decode<T: Decodable>(_ path: String, what: String) throws(KumoError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.notFound, "failed to read \(what): \(path) not found")
        }
        do { return try KumoModel.decode(jsonBytes: data, as: T.self) } catch {
            throw KumoError(.invalid, "failed to parse \(what): \(error.message)", cause: error)
        }
    }
}
