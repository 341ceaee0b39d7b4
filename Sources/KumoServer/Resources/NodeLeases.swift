import KumoModel
import KumoStore

/// Node heartbeats: a small lease record per node (`/leases/nodes/<name>`), renewed by its agent. Not a Node
/// write and not in history, so heartbeats never touch the Node object or its watchers; renewals are held in
/// memory and checkpointed in batches (`LeaseTable`). The node lifecycle controller reads them to decide Ready /
/// NotReady.
public enum NodeLeases {
    public static let prefix = "/leases/nodes/"
    public static let defaultDurationSeconds = 6
    public static let durationRange = 1...3600

    public static func key(_ node: String) -> String { prefix + node }
}
