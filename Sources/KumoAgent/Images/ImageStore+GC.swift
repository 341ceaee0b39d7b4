import Foundation
import KumoModel
import KumoSystem

extension ImageStore {
    /// What one garbage collection removed.
    public struct GCResult: Sendable, Equatable {
        public var images: Int
        public var blobs: Int

        public init(images: Int, blobs: Int) {
            self.images = images
            self.blobs = blobs
        }
    }

    /// Removes the unpacked rootfs of every image not in `inUse` (manifest digests) and not used for `olderThan`,
    /// then every blob no remaining image refers to. Blobs are left alone while a pull is in flight (it may have
    /// downloaded blobs it has not recorded yet).
    @discardableResult
    public func collectGarbage(inUse: Set<String>, olderThan: Duration) async -> GCResult {
        let now = ContinuousClock.now
        var result = GCResult(images: 0, blobs: 0)
        for (digest, _) in images where !inUse.contains(digest) && inFlight[digest] == nil {
            if let used = lastUsed[digest], now - used < olderThan { continue }
            await removeTree(rootfs(digest))
            unlink(rootfs(digest) + ".json")
            images[digest] = nil
            lastUsed[digest] = nil
            result.images += 1
            logger.info("image collected", metadata: ["digest": "\(digest)"])
        }
        if inFlight.isEmpty {
            let keep = Set(images.values.flatMap(\.blobs).compactMap { FileDigest.hex(of: $0) })
            for name in (try? FileManager.default.contentsOfDirectory(atPath: blobDirectory)) ?? [] where !keep.contains(name) {
                unlink(blobDirectory + "/" + name)
                result.blobs += 1
            }
        }
        counters.imagesCollected += result.images
        counters.blobsCollected += result.blobs
        return result
    }

    /// For the agent's `/debug/state`: counters and every cached image with digest, size and last use.
    public func state() -> JSONValue {
        let now = ContinuousClock.now
        let cached: [JSONValue] = images.values.sorted { $0.reference < $1.reference }.map { image in
            var o: [String: JSONValue] = [
                "reference": .string(image.reference), "digest": .string(image.manifestDigest),
                "sizeBytes": .number(Double(image.sizeBytes)), "rootfs": .string(rootfs(image.manifestDigest)),
                "unpackedAt": .string(image.unpackedAt),
            ]
            if let used = lastUsed[image.manifestDigest] {
                o["lastUsedSecondsAgo"] = .number((now - used).secondsValue)
            }
            return .object(o)
        }
        return [
            "directory": .string(directory),
            "pulls": .number(Double(counters.pulls)), "cacheHits": .number(Double(counters.cacheHits)),
            "bytesDownloaded": .number(Double(counters.bytesDownloaded)),
            "failedPulls": .number(Double(counters.failedPulls)),
            "imagesCollected": .number(Double(counters.imagesCollected)),
            "blobsCollected": .number(Double(counters.blobsCollected)),
            "pulling": .array(inFlight.keys.sorted().map { .string($0) }),
            "images": .array(cached),
        ]
    }

    /// Counters for tests and metrics.
    public var statistics: (pulls: Int, cacheHits: Int, bytesDownloaded: Int64) {
        (counters.pulls, counters.cacheHits, counters.bytesDownloaded)
    }
}
