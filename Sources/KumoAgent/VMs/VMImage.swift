import KumoModel

/// A VM image ready to boot from the node's cache.
public struct VMImage: Sendable, Equatable {
    public var digest: String
    public var config: VMImageConfig
    public var kernel: String?
    public var initrd: String?
    public var disk: String?
    public var diskFormat: String?
    /// Whether it came from the cache (no download).
    public var cached: Bool
}
