import Foundation
import KumoModel
import KumoSystem
import Logging

/// The node's VM image cache: one directory per manifest digest (`<images>/vm/<hex>/`) with the manifest, config
/// and layer files, each verified against its sha256 digest before it is used (a mismatch deletes the download
/// and fails with the digest it got). Images are immutable, so a complete directory is reused as it is.
public actor VMImageStore {
    let directory: String
    let source: any ImageSource
    let logger: Logger
    private(set) var pulls = 0
    private(set) var hits = 0

    public init(directory: String, source: any ImageSource, logger: Logger) {
        self.directory = directory
        self.source = source
        self.logger = logger
    }

    /// Resolves `reference` and returns the cached image, downloading it first when needed.
    public func prepare(_ reference: String) async throws(KumoError) -> VMImage {
        let digest = try await source.manifestDigest(for: reference)
        guard let hex = FileDigest.hex(of: digest) else { throw KumoError(.invalid, "invalid digest \(digest)", field: "image") }
        let dir = directory + "/" + hex
        if FileManager.default.fileExists(atPath: dir + "/.complete") {
            hits += 1
            var image = try load(dir: dir, digest: digest)
            image.cached = true
            return image
        }
        try? FileManager.default.removeItem(atPath: dir)
        let tmp = dir + ".partial-\(UUID().uuidString.prefix(6))"
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        } catch {
            throw KumoError(.internal, "failed to create \(tmp): \(error)", cause: error)
        }
        do throws(KumoError) {
            try await fetch(digest: digest, into: tmp)
            FileManager.default.createFile(atPath: tmp + "/.complete", contents: Data())
            if rename(tmp, dir) != 0 { throw KumoError(.internal, "failed to move \(tmp) into the VM image cache") }
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw error
        }
        pulls += 1
        return try load(dir: dir, digest: digest)
    }

    /// Downloads manifest, config and layers into `dir`, verifying each.
    func fetch(digest: String, into dir: String) async throws(KumoError) {
        try await download(digest, to: dir + "/manifest.json", what: "manifest")
        let manifest: OCIManifest = try Self.decode(dir + "/manifest.json", what: "manifest")
        guard manifest.config.mediaType == VMImageMediaType.config else {
            throw KumoError(
                .invalid, "image \(digest) is not a VM image (config \(manifest.config.mediaType)): push one with --kernel or --disk",
                field: "image")
        }
        try await download(manifest.config.digest, to: dir + "/config.json", what: "config")
        let config: VMImageConfig = try Self.decode(dir + "/config.json", what: "VM image config")
        for layer in manifest.layers {
            let name: String
            switch layer.mediaType {
            case VMImageMediaType.kernel: name = "kernel"
            case VMImageMediaType.initrd: name = "initrd"
            case VMImageMediaType.diskRaw, VMImageMediaType.diskQcow2: name = "disk"
            default: throw KumoError(.invalid, "VM image \(digest) has a layer of unknown type \(layer.mediaType)", field: "image")
            }
            try await download(layer.digest, to: dir + "/" + name, what: name)
        }
        switch config.kind {
        case .kernel:
            guard FileManager.default.fileExists(atPath: dir + "/kernel"), FileManager.default.fileExists(atPath: dir + "/initrd")
            else { throw KumoError(.invalid, "kernel image \(digest) lacks its kernel or initrd layer", field: "image") }
        case .disk:
            guard FileManager.default.fileExists(atPath: dir + "/disk") else {
                throw KumoError(.invalid, "disk image \(digest) has no disk layer", field: "image")
            }
        }
    }

    /// One blob, then its sha256 checked against `digest`.
    func download(_ digest: String, to path: String, what: String) async throws(KumoError) {
        try await source.download(digest, to: path)
        let (actual, _) = try FileDigest.sha256(ofFile: path)
        guard actual == digest else {
            unlink(path)
            throw KumoError(
                .invalid, "\(what) blob digest mismatch: expected \(digest), downloaded content hashes to \(actual) (corrupt image)",
                field: "image")
        }
    }

    func load(dir: String, digest: String) throws(KumoError) -> VMImage {
        let config: VMImageConfig = try Self.decode(dir + "/config.json", what: "VM image config")
        let fm = FileManager.default
        return VMImage(
            digest: digest, config: config,
            kernel: fm.fileExists(atPath: dir + "/kernel") ? dir + "/kernel" : nil,
            initrd: fm.fileExists(atPath: dir + "/initrd") ? dir + "/initrd" : nil,
            disk: fm.fileExists(atPath: dir + "/disk") ? dir + "/disk" : nil, diskFormat: config.diskFormat, cached: false)
    }

    static func decode<T: Decodable>(_ path: String, what: String) throws(KumoError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw KumoError(.internal, "cannot read \(path)") }
        do {
            return try KumoModel.decode(jsonBytes: data, as: T.self)
        } catch {
            throw KumoError(.invalid, "the \(what) does not parse: \(error.message)", field: "image", cause: error)
        }
    }

    public func statistics() -> (pulls: Int, hits: Int) { (pulls, hits) }
}
