import KumoModel

/// One service's load as every node's HAProxy sees it, summed (what the autoscaler reads).
public struct ServiceLoad: Sendable, Equatable {
    /// Requests (TCP: sessions) per second over the last 10 s, summed over nodes and ports.
    public var requestsPerSecond: Double
    /// Requests waiting in queues, summed over nodes.
    public var queue: Int
    /// The slowest node's average response time (ms).
    public var avgResponseMs: Double
    /// How many nodes answered.
    public var nodes: Int

    public init(requestsPerSecond: Double, queue: Int, avgResponseMs: Double, nodes: Int) {
        self.requestsPerSecond = requestsPerSecond
        self.queue = queue
        self.avgResponseMs = avgResponseMs
        self.nodes = nodes
    }
}

/// Where the autoscaler reads service load from (the server asks every Ready node's agent).
public protocol LoadBalancerMetrics: Sendable {
    /// Load of every service that any node serves, by `project/service`.
    func serviceLoads() async -> [String: ServiceLoad]
}
