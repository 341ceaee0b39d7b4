/// The parts of the OCI image format Kumo reads and writes (image-spec v1): descriptors, image manifests, image
/// indexes (`index.json` of an image layout) and image configs. Pure data; the server checks manifests against
/// its blob store, the CLI builds them, the agent unpacks them.
public enum OCIMediaType {
    public static let manifest = "application/vnd.oci.image.manifest.v1+json"
    public static let index = "application/vnd.oci.image.index.v1+json"
    public static let config = "application/vnd.oci.image.config.v1+json"
    public static let layerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    /// Docker's names for the same things, found in layouts exported by older tools.
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"

    /// Whether a layer of this media type is gzip-compressed; nil when Kumo cannot unpack it at all.
    public static func layerIsGzip(_ mediaType: String) -> Bool? {
        switch mediaType {
        case layerGzip, dockerLayerGzip: true
        case layerTar: false
        default: nil
        }
    }
}

/// A content descriptor: what a blob is, its digest and its size in bytes.
public struct OCIDescriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]?

    public init(mediaType: String, digest: String, size: Int64, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
    }

    /// The annotation an image layout uses to name a manifest (`latest`, `v1`).
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
}

/// An OCI image manifest: one config blob and layers applied in order.
public struct OCIManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]?

    public init(config: OCIDescriptor, layers: [OCIDescriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.manifest
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    /// The findings that make this manifest unusable, as field errors (`layers[1].digest`); empty when fine.
    /// Blob existence is the server's business; this checks only the document itself.
    public func problems() -> [FieldError] {
        var errors: [FieldError] = []
        if schemaVersion != 2 { errors.append(FieldError("schemaVersion", "must be 2, not \(schemaVersion)")) }
        if let mediaType, mediaType != OCIMediaType.manifest, mediaType != OCIMediaType.dockerManifest {
            errors.append(FieldError("mediaType", "must be \(OCIMediaType.manifest), not \(mediaType)"))
        }
        if let why = Names.validateDigest(config.digest) { errors.append(FieldError("config.digest", why)) }
        if config.size < 0 { errors.append(FieldError("config.size", "must not be negative")) }
        if layers.isEmpty { errors.append(FieldError("layers", "must list at least one layer")) }
        for (i, layer) in layers.enumerated() {
            if let why = Names.validateDigest(layer.digest) { errors.append(FieldError("layers[\(i)].digest", why)) }
            if layer.size < 0 { errors.append(FieldError("layers[\(i)].size", "must not be negative")) }
            if OCIMediaType.layerIsGzip(layer.mediaType) == nil, !VMImageMediaType.isVMLayer(layer.mediaType) {
                errors.append(
                    FieldError(
                        "layers[\(i)].mediaType",
                        "unsupported layer type \(layer.mediaType): use \(OCIMediaType.layerGzip) or \(OCIMediaType.layerTar)"))
            }
        }
        return errors
    }
}

/// `index.json` of an OCI image layout: the manifests it holds.
public struct OCIIndex: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]

    public init(manifests: [OCIDescriptor]) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.index
        self.manifests = manifests
    }
}

/// An OCI image config: platform, how to run the image, and the uncompressed digests of its layers.
public struct OCIImageConfig: Codable, Sendable, Equatable {
    public struct RunConfig: Codable, Sendable, Equatable {
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Env: [String]?
        public var WorkingDir: String?

        public init(Entrypoint: [String]? = nil, Cmd: [String]? = nil, Env: [String]? = nil, WorkingDir: String? = nil) {
            self.Entrypoint = Entrypoint
            self.Cmd = Cmd
            self.Env = Env
            self.WorkingDir = WorkingDir
        }
    }

    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String
        public var diff_ids: [String]

        public init(diffIDs: [String]) {
            self.type = "layers"
            self.diff_ids = diffIDs
        }
    }

    public var architecture: String
    public var os: String
    public var config: RunConfig?
    public var rootfs: RootFS
    public var created: String?

    public init(architecture: String, os: String = "linux", config: RunConfig?, rootfs: RootFS, created: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
        self.created = created
    }

    /// The OCI name of the architecture this binary runs on (`amd64`, `arm64`).
    public static var hostArchitecture: String {
        #if arch(x86_64)
            "amd64"
        #elseif arch(arm64)
            "arm64"
        #else
            "unknown"
        #endif
    }
}
