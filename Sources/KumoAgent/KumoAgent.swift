/// The node agent: registers its node, heartbeats, and runs the replicas bound to it (runc), with their images,
/// networking, logs and probes. See ../shared/DESIGN.md ("agent").
public enum KumoAgentInfo {
    public static let version = "0.1.0"
}
