import Foundation
import KumoAPI
import KumoImages
import KumoModel
import KumoSystem

/// Uploads an image's blobs (skipping those the server has) and tags its manifest. The CLI's `image push`
/// without argument parsing, so tests can drive it against a real server.
struct ImagePusher {
    let client: KumoClient
    let progress: ProgressReporter

    /// Uploads one blob unless the server already has it with this size. Returns whether it was uploaded.
    @discardableResult
    func upload(_ blob: ImageBuilder.BlobFile, label: String) async throws(KumoError) -> Bool {
        let digest = blob.descriptor.digest
        if let size = try await client.blobSize(digest), size == blob.descriptor.size {
            progress.line("\(label) \(short(digest)): already on the server")
            return false
        }
        progress.begin("\(label) \(short(digest))", total: blob.descriptor.size)
        let reporter = progress
        try await client.upload(APIPaths.blob(digest), fromFile: blob.path) { reporter.update($0) }
        progress.end("\(label) \(short(digest)): uploaded \(ProgressReporter.human(blob.descriptor.size))")
        return true
    }

    /// Uploads config and layers, then tags `manifest` (bytes sent as they are). Returns the manifest digest.
    func push(name: String, tag: String, manifest: [UInt8], blobs: [ImageBuilder.BlobFile]) async throws(KumoError) -> String {
        for (i, blob) in blobs.enumerated() {
            try await upload(blob, label: i == 0 ? "config" : "layer \(i)")
        }
        let response = try await client.send(
            .PUT, APIPaths.imageTag(name, tag: tag), body: manifest, contentType: OCIMediaType.manifest)
        let digest = response.headers.first(name: "Kumo-Content-Digest") ?? FileDigest.sha256(of: manifest)
        progress.line("\(name):\(tag) → \(digest)")
        return digest
    }

    /// Builds the manifest for `config` + `layers` and pushes it.
    func push(name: String, tag: String, config: ImageBuilder.BlobFile, layers: [ImageBuilder.BlobFile]) async throws(KumoError)
        -> String
    {
        let image = try BuiltImage(config: config, layers: layers)
        return try await push(name: name, tag: tag, manifest: image.manifest, blobs: image.blobs)
    }

    func short(_ digest: String) -> String { String(digest.dropFirst("sha256:".count).prefix(12)) }
}
