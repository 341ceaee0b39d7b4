/// VM images travel as OCI manifests with Kumo media types, so push, tags, blobs, digests and garbage collection
/// are the container images' own: a `kernel` image has a kernel and an initrd layer (booted directly with a
/// command line from the config); a `disk` image has one disk layer (raw or qcow2, booted by firmware).
public enum VMImageMediaType {
    public static let config = "application/vnd.kumo.vm.config.v1+json"
    public static let kernel = "application/vnd.kumo.vm.kernel"
    public static let initrd = "application/vnd.kumo.vm.initrd"
    public static let diskRaw = "application/vnd.kumo.vm.disk.raw"
    public static let diskQcow2 = "application/vnd.kumo.vm.disk.qcow2"

    public static func isVMLayer(_ mediaType: String) -> Bool {
        [kernel, initrd, diskRaw, diskQcow2].contains(mediaType)
    }
}

/// The config blob of a VM image.
public struct VMImageConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case kernel, disk }
    public var kind: Kind
    /// Kernel command line (kernel images); the agent appends its own `kumo.*` arguments.
    public var cmdline: String?
    /// `raw` or `qcow2` (disk images).
    public var diskFormat: String?

    public init(kind: Kind, cmdline: String? = nil, diskFormat: String? = nil) {
        self.kind = kind
        self.cmdline = cmdline
        self.diskFormat = diskFormat
    }
}
