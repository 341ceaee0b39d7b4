import KumoModel

/// An image ready to upload: the manifest bytes (sent as they are, so the digest the server tags is theirs) and
/// the blobs it names, config first.
public struct BuiltImage: Sendable, Equatable {
    public var manifest: [UInt8]
    public var blobs: [ImageBuilder.BlobFile]

    public init(manifest: [UInt8], blobs: [ImageBuilder.BlobFile]) {
        self.manifest = manifest
        self.blobs = blobs
    }

    /// The manifest for `config` + `layers`.
    public init(config: ImageBuilder.BlobFile, layers: [ImageBuilder.BlobFile]) throws(KumoError) {
        let manifest = OCIManifest(config: config.descriptor, layers: layers.map(\.descriptor))
        self.init(manifest: encodeJSON(manifest), blobs: [config] + layers)
    }
}
