import Foundation
import KumoAPI
import KumoImages
import KumoModel
import KumoSystem

extension ImagePusher {
    /// `kumo image push NAME:TAG <source>`: builds (or reads) the blobs in a scratch directory that is removed
    /// afterwards, uploads what the server lacks, tags the manifest. Returns the manifest digest.
    func push(_ reference: String, from source: ImageBuilder.Source, run: OCIImageConfig.RunConfig, command: Command)
        async throws(KumoError) -> String
    {
        let ref = try ImageReference(parsing: reference)
        if ref.digest != nil {
            throw KumoError(.invalid, "push to NAME:TAG, not to a digest (\(reference))", field: "reference")
        }
        let tag = ref.tagOrLatest
        let work = NSTemporaryDirectory() + "kumo-push-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            throw KumoError(.internal, "failed to create \(work): \(error)", cause: error)
        }
        defer { _ = try? FileManager.default.removeItem(atPath: work) }
        let image = try await ImageBuilder(command: command, workDir: work).build(source, run: run)
        return try await push(name: ref.name, tag: tag, manifest: image.manifest, blobs: image.blobs)
    }
}
