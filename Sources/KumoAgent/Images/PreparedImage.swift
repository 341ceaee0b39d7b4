import KumoModel

/// An image ready to run: its root filesystem unpacked on disk (shared by every replica of that image, so never
/// modified after unpacking — runtimes put a writable layer over it) and how to run it.
public struct PreparedImage: Sendable, Equatable {
    /// The reference it was prepared for (`busybox:latest`).
    public var reference: String
    public var manifestDigest: String
    /// The unpacked directory (`<store>/rootfs/<manifest hex>`).
    public var rootfs: String
    public var config: ImageConfig

    public init(reference: String, manifestDigest: String, rootfs: String, config: ImageConfig) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.rootfs = rootfs
        self.config = config
    }
}

/// The run settings of an image config (`config.Entrypoint`, `Cmd`, `Env`, `WorkingDir`).
public struct ImageConfig: Codable, Sendable, Equatable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String]
    public var workingDir: String?

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workingDir: String? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
    }

    public init(_ oci: OCIImageConfig) {
        let c = oci.config
        self.init(
            entrypoint: c?.Entrypoint, cmd: c?.Cmd, env: c?.Env ?? [],
            workingDir: (c?.WorkingDir ?? "").isEmpty ? nil : c?.WorkingDir)
    }
}
