import Foundation
import KumoModel
import KumoSystem
import Logging

/// The node's image cache. Blobs are downloaded on demand into `<dir>/blobs/sha256/<hex>`, each verified against
/// its digest before it is kept; an image is unpacked once per manifest digest into `<dir>/rootfs/<hex>` (built
/// in `<dir>/tmp` and renamed into place, so a half-unpacked image is never seen), and shared by every replica
/// that runs it. Concurrent prepares of one image share one pull. Images no replica uses are collected.
public actor ImageStore {
    public let directory: String
    let source: any ImageSource
    let command: Command
    let logger: Logger
    let unpacker: LayerUnpacker

    /// What is unpacked, by manifest digest.
    var images: [String: CachedImage] = [:]
    /// Pulls in flight, by manifest digest: a second prepare of the same image waits for the first.
    var inFlight: [String: Task<PreparedImage, any Error>] = [:]
    var lastUsed: [String: ContinuousClock.Instant] = [:]
    var counters = Counters()

    struct Counters: Sendable {
        var pulls = 0
        var cacheHits = 0
        var bytesDownloaded: Int64 = 0
        var failedPulls = 0
        var imagesCollected = 0
        var blobsCollected = 0
    }

    /// What `<dir>/rootfs/<hex>.json` records next to an unpacked image.
    struct CachedImage: Codable, Sendable {
        var reference: String
        var manifestDigest: String
        var config: ImageConfig
        /// Manifest, config and layers.
        var blobs: [String]
        var sizeBytes: Int64
        var unpackedAt: String
    }

    public init(directory: String, source: any ImageSource, command: Command, logger: Logger) {
        self.directory = directory
        self.source = source
        self.command = command
        self.logger = logger
        self.unpacker = LayerUnpacker(tar: Tar(command: command))
        let fm = FileManager.default
        let rootfsDir = directory + "/rootfs"
        let tempDir = directory + "/tmp"
        for dir in [directory + "/blobs/sha256", rootfsDir, tempDir] {
            try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // Leftovers of an unpack cut short by a crash.
        for name in (try? fm.contentsOfDirectory(atPath: tempDir)) ?? [] {
            try? fm.removeItem(atPath: tempDir + "/" + name)
        }
        let now = ContinuousClock.now
        var found: [String: CachedImage] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: rootfsDir)) ?? [] where name.hasSuffix(".json") {
            guard let data = fm.contents(atPath: rootfsDir + "/" + name),
                let cached = try? KumoModel.decode(jsonBytes: data, as: CachedImage.self),
                fm.fileExists(atPath: rootfsDir + "/" + String(name.dropLast(5)))
            else { continue }
            found[cached.manifestDigest] = cached
        }
        self.images = found
        self.lastUsed = found.mapValues { _ in now }
    }

    nonisolated var blobDirectory: String { directory + "/blobs/sha256" }
    nonisolated var rootfsDirectory: String { directory + "/rootfs" }
    nonisolated var tempDirectory: String { directory + "/tmp" }

    nonisolated func rootfs(_ digest: String) -> String { rootfsDirectory + "/" + (FileDigest.hex(of: digest) ?? "invalid") }
    nonisolated func blobPath(_ digest: String) -> String { blobDirectory + "/" + (FileDigest.hex(of: digest) ?? "invalid") }

    /// Makes `reference` (`name[:tag]` or `name@sha256:…`) ready to run: resolves it, downloads and verifies what
    /// is missing, unpacks it once. A digest mismatch deletes the bad blob and throws `.invalid`.
    public func prepare(_ reference: String) async throws(KumoError) -> PreparedImage {
        let ref = try ImageReference(parsing: reference)
        let digest: String
        if let pinned = ref.digest {
            digest = pinned
        } else {
            digest = try await source.manifestDigest(for: reference)
        }
        if let cached = images[digest], FileManager.default.fileExists(atPath: rootfs(digest)) {
            counters.cacheHits += 1
            lastUsed[digest] = .now
            return PreparedImage(reference: reference, manifestDigest: digest, rootfs: rootfs(digest), config: cached.config)
        }
        if let running = inFlight[digest] {
            counters.cacheHits += 1
            return try await Self.value(of: running)
        }
        let task = Task { try await self.pull(reference, digest: digest) }
        inFlight[digest] = task
        defer { inFlight[digest] = nil }
        do {
            return try await Self.value(of: task)
        } catch {
            counters.failedPulls += 1
            logger.warning("image pull failed", metadata: ["image": "\(reference)", "error": "\(error)"])
            throw error
        }
    }

    static func value(of task: Task<PreparedImage, any Error>) async throws(KumoError) -> PreparedImage {
        do {
            return try await task.value
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "image pull failed: \(error)", cause: error)
        }
    }

    func pull(_ reference: String, digest: String) async throws(KumoError) -> PreparedImage {
        let start = ContinuousClock.now
        logger.info("pulling image", metadata: ["image": "\(reference)", "digest": "\(digest)"])
        let manifestPath = try await ensureBlob(digest)
        let manifest: OCIManifest = try Self.decode(manifestPath, what: "manifest of \(reference)")
        let problems = manifest.problems()
        if !problems.isEmpty { throw KumoError.invalid(problems, kind: "manifest of \(reference)") }
        let config: OCIImageConfig = try Self.decode(try await ensureBlob(manifest.config.digest), what: "config of \(reference)")
        var layerPaths: [String] = []
        for layer in manifest.layers { layerPaths.append(try await ensureBlob(layer.digest)) }

        let target = rootfs(digest)
        if !FileManager.default.fileExists(atPath: target) {
            let temp = "\(tempDirectory)/\(FileDigest.hex(of: digest) ?? "x")-\(UUID().uuidString.prefix(8))"
            do {
                try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
                chmod(temp, 0o755)
                for (layer, path) in zip(manifest.layers, layerPaths) {
                    try await unpacker.apply(path, gzip: OCIMediaType.layerIsGzip(layer.mediaType) ?? true, onto: temp)
                }
                guard rename(temp, target) == 0 else {
                    throw KumoError(.internal, "failed to move \(temp) to \(target): \(String(cString: strerror(errno)))")
                }
            } catch {
                await removeTree(temp)
                if let e = error as? KumoError { throw e }
                throw KumoError(.internal, "failed to unpack \(reference): \(error)", cause: error)
            }
        }
        let blobs = [digest, manifest.config.digest] + manifest.layers.map(\.digest)
        let layerBytes: Int64 = manifest.layers.reduce(0) { $0 + $1.size }
        let size: Int64 = Int64(FileManager.default.fileSize(manifestPath)) + manifest.config.size + layerBytes
        let cached = CachedImage(
            reference: reference, manifestDigest: digest, config: ImageConfig(config), blobs: blobs, sizeBytes: size,
            unpackedAt: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)).rfc3339)
        _ = FileManager.default.createFile(atPath: target + ".json", contents: Data(encodeJSON(cached)))
        images[digest] = cached
        lastUsed[digest] = .now
        counters.pulls += 1
        logger.info(
            "image ready",
            metadata: ["image": "\(reference)", "digest": "\(digest)", "took": "\(ContinuousClock.now - start)"])
        return PreparedImage(reference: reference, manifestDigest: digest, rootfs: target, config: cached.config)
    }

    /// The path of a verified blob, downloading it first when it is not here.
    func ensureBlob(_ digest: String) async throws(KumoError) -> String {
        guard Names.validateDigest(digest) == nil else {
            throw KumoError(.invalid, "invalid digest \(digest)", field: "digest")
        }
        let path = blobPath(digest)
        if FileManager.default.fileExists(atPath: path) { return path }
        let temp = blobDirectory + "/.download-" + UUID().uuidString
        do {
            try await source.download(digest, to: temp)
            let (actual, size) = try FileDigest.sha256(ofFile: temp)
            guard actual == digest else {
                throw KumoError(
                    .invalid, "downloaded blob \(digest) has digest \(actual) (\(size) bytes): discarded", field: "digest")
            }
            guard rename(temp, path) == 0 else {
                throw KumoError(.internal, "failed to store blob \(digest): \(String(cString: strerror(errno)))")
            }
            counters.bytesDownloaded += size
            return path
        } catch {
            unlink(temp)
            throw error as? KumoError ?? KumoError(.internal, "failed to fetch blob \(digest): \(error)", cause: error)
        }
    }

    static func decode<T: Decodable>(_ path: String, what: String) throws(KumoError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.internal, "failed to read \(what) at \(path)")
        }
        do {
            return try KumoModel.decode(jsonBytes: data, as: T.self)
        } catch {
            throw KumoError(.invalid, "failed to parse \(what): \(error.message)", cause: error)
        }
    }

    /// Removes a directory tree, making it writable first if needed (layers may hold read-only directories).
    func removeTree(_ path: String) async {
        if (try? FileManager.default.removeItem(atPath: path)) != nil { return }
        _ = try? await command.run(["chmod", "-R", "u+rwX", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension FileManager {
    func fileSize(_ path: String) -> Int {
        ((try? attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
