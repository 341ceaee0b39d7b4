/// The parts of Kumo a finding can hold responsible: the part whose state must change to fix it. The vocabulary
/// is fixed (scripts and alerts match on it); later work may add names, these stay.
public enum Component: String, CaseIterable, Codable, Sendable, Hashable, Comparable {
    case store
    case apiServer = "api-server"
    case ipam
    case scheduler
    case workloads = "controller/workloads"
    case endpoints = "controller/endpoints"
    case nodeLifecycle = "controller/node-lifecycle"
    case autoscaler = "controller/autoscaler"
    case agent
    case runc
    case qemu
    case overlay
    case dnsmasq
    case haproxy
    case pki
    case images
    /// The node's OS: disk, clock, /dev/kvm, a foreign process.
    case host
    /// The network between nodes.
    case underlay
    /// The user's own object: a selector that matches nothing, a secret key that does not exist.
    case spec
    /// A human action: a forgotten cordon, a forced write.
    case `operator`

    public static func < (a: Component, b: Component) -> Bool { a.rawValue < b.rawValue }

    /// Parses a name of the vocabulary, or nil.
    public init?(name: String) { self.init(rawValue: name) }

    /// The component a built-in field manager belongs to (`scheduler`, `node/node-2`, …); nil for a human or
    /// script token (an `operator` write).
    public static func ofManager(_ manager: String) -> Component? {
        switch manager {
        case "scheduler": return .scheduler
        case "ipam": return .ipam
        case "workloads": return .workloads
        case "endpoints": return .endpoints
        case "node-lifecycle": return .nodeLifecycle
        case "autoscaler": return .autoscaler
        case "secret-encryption": return .apiServer
        default: return manager.hasPrefix("node/") ? .agent : nil
        }
    }
}
