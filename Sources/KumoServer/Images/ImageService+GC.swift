import Foundation
import KumoModel

extension ImageService {
    /// Removes blobs no Image refers to (through a tag's manifest: the manifest, its config and layers) and
    /// abandoned upload temp files. Anything modified within `gcGrace` stays, so a push that has uploaded blobs but
    /// not tagged them yet is not raced. Returns the number of files removed.
    @discardableResult
    public func collectGarbage(now: Date = Date()) async throws(KumoError) -> Int {
        var referenced = Set<String>()
        var cursor: String? = nil
        repeat {
            let page = try await resources.list(.image, project: nil, filter: ListFilter(), limit: 500, continueToken: cursor)
            for image in page.items {
                for (tag, value) in image["spec"]?["tags"]?.objectValue ?? [:] {
                    guard let digest = value.stringValue else { continue }
                    referenced.insert(digest)
                    // a tagged manifest that cannot be read hides which blobs it needs: collect nothing (fail
                    // closed) rather than the layers of an image that is still tagged
                    let manifest: OCIManifest
                    do {
                        manifest = try decode(jsonBytes: try blobs.read(digest), as: OCIManifest.self)
                    } catch {
                        let name = image["metadata"]?["name"]?.stringValue ?? "?"
                        throw KumoError(
                            .internal,
                            "blob garbage collection stopped, nothing removed: the manifest \(digest) of image \(name):\(tag) "
                                + "cannot be read (\(error.message)); restore the blob or remove the tag",
                            cause: error)
                    }
                    referenced.insert(manifest.config.digest)
                    for layer in manifest.layers { referenced.insert(layer.digest) }
                }
            }
            cursor = page.continueToken
        } while cursor != nil
        let cutoff = now.addingTimeInterval(-gcGrace.secondsValue)
        var removed = 0
        var bytes: Int64 = 0
        for entry in blobs.entries() where entry.modified <= cutoff {
            if let digest = entry.digest, referenced.contains(digest) { continue }
            if entry.digest == nil && !entry.name.hasPrefix(BlobStore.tempPrefix) { continue }
            blobs.remove(name: entry.name)
            removed += 1
            bytes += entry.size
            logger.info("blob collected", metadata: ["blob": "\(entry.digest ?? entry.name)", "bytes": "\(entry.size)"])
        }
        gcState.withLock {
            $0.lastRun = Timestamp(millisecondsSinceEpoch: Int64(now.timeIntervalSince1970 * 1000)).rfc3339
            $0.removedTotal += removed
            $0.removedBytesTotal += bytes
            $0.lastError = nil
        }
        return removed
    }

    /// One GC pass that logs instead of throwing (periodic and after deletes: must never fail a request).
    func collectGarbageLogging() async {
        do {
            try await collectGarbage()
        } catch {
            logger.warning("blob garbage collection failed", metadata: ["error": "\(error)"])
            gcState.withLock { $0.lastError = "\(error)" }
        }
    }

    /// For `/debug/state`: blob count and bytes, and what GC did.
    public func snapshot() -> JSONValue {
        let entries = blobs.entries()
        let stored = entries.filter { $0.digest != nil }
        let gc = gcState.withLock { $0 }
        var gcObject: [String: JSONValue] = [
            "removedTotal": .number(Double(gc.removedTotal)), "removedBytesTotal": .number(Double(gc.removedBytesTotal)),
            "graceSeconds": .number(gcGrace.secondsValue),
        ]
        if let r = gc.lastRun { gcObject["lastRun"] = .string(r) }
        if let e = gc.lastError { gcObject["lastError"] = .string(e) }
        return [
            "directory": .string(blobs.directory), "blobs": .number(Double(stored.count)),
            "bytes": .number(Double(stored.reduce(Int64(0)) { $0 + $1.size })),
            "uploadsInProgress": .number(Double(entries.count - stored.count)), "gc": .object(gcObject),
        ]
    }
}
