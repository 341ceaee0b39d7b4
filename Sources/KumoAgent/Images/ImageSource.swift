import Foundation
import KumoAPI
import KumoModel

/// Where the agent's image store gets images from: which manifest a reference means, and the bytes of a blob.
/// The store verifies every blob's digest itself, so a source need not be trusted.
public protocol ImageSource: Sendable {
    /// The manifest digest (`sha256:…`) of `name:tag` (default tag `latest`) or `name@sha256:…`.
    func manifestDigest(for reference: String) async throws(KumoError) -> String
    /// Writes the blob `digest` to `path` (created or truncated).
    func download(_ digest: String, to path: String) async throws(KumoError)
}

/// The API server as an image source: tags resolve through the Image object, blobs stream from
/// `GET /api/v1/blobs/{digest}` (a node token may read both).
public struct APIImageSource: ImageSource {
    public let client: KumoClient

    public init(client: KumoClient) { self.client = client }

    public func manifestDigest(for reference: String) async throws(KumoError) -> String {
        let ref = try ImageReference(parsing: reference)
        if let digest = ref.digest { return digest }
        let image = try await client.send(.GET, APIPaths.object(.image, project: nil, name: ref.name)).json()
        let tags = image["spec"]?["tags"]?.objectValue ?? [:]
        guard let digest = tags[ref.tagOrLatest]?.stringValue else {
            let known = tags.keys.sorted().joined(separator: ", ")
            throw KumoError(
                .notFound, "image \(ref.name) has no tag \(ref.tagOrLatest)" + (known.isEmpty ? "" : " (tags: \(known))"),
                field: "image")
        }
        return digest
    }

    public func download(_ digest: String, to path: String) async throws(KumoError) {
        try await client.download(APIPaths.blob(digest), to: path)
    }
}

/// An OCI image layout directory (`index.json` + `blobs/sha256/…`) as an image source: a reference's tag is
/// matched against the `org.opencontainers.image.ref.name` annotation (`latest` or `name:latest`). For nodes
/// seeded without a server, and for tests of the store with real files.
public struct DirectoryImageSource: ImageSource {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func manifestDigest(for reference: String) async throws(KumoError) -> String {
        let ref = try ImageReference(parsing: reference)
        if let digest = ref.digest { return digest }
        guard let data = FileManager.default.contents(atPath: directory + "/index.json") else {
            throw KumoError(.notFound, "no index.json in image layout \(directory)")
        }
        let index: OCIIndex
        do {
            index = try decode(jsonBytes: data, as: OCIIndex.self)
        } catch {
            throw KumoError(.invalid, "failed to read \(directory)/index.json: \(error.message)", cause: error)
        }
        let wanted = [ref.tagOrLatest, "\(ref.name):\(ref.tagOrLatest)"]
        guard
            let found = index.manifests.first(where: {
                wanted.contains($0.annotations?[OCIDescriptor.refNameAnnotation] ?? "")
            })
        else {
            throw KumoError(.notFound, "image layout \(directory) has no manifest for \(reference)", field: "image")
        }
        return found.digest
    }

    public func download(_ digest: String, to path: String) async throws(KumoError) {
        guard let hex = digest.split(separator: ":").last, Names.validateDigest(digest) == nil else {
            throw KumoError(.invalid, "invalid digest \(digest)", field: "digest")
        }
        let source = directory + "/blobs/sha256/" + hex
        unlink(path)
        do {
            try FileManager.default.copyItem(atPath: source, toPath: path)
        } catch {
            throw KumoError(.notFound, "blob \(digest) not in image layout \(directory)", cause: error)
        }
    }
}
