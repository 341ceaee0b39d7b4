import KumoModel

/// The endpoints controller's pure core: a service's endpoints are the replicas of its project whose labels match
/// its selector and that are serving — Running, Ready, bound with an address, not being deleted. The status
/// changes (and its generation goes up by one) only when that set changes, so every node's "applied generation"
/// names one exact set of backends.
public struct ServiceEndpoints: Sendable {
    public let service: Service
    public let replicas: [Replica]

    public init(service: Service, replicas: [Replica]) {
        self.service = service
        self.replicas = replicas
    }

    public static func selects(_ selector: [String: String], _ labels: [String: String]?) -> Bool {
        ServiceSpec(selector: selector, ports: []).selects(labels)
    }

    /// Whether a replica may receive traffic.
    public static func serving(_ r: Replica) -> Bool {
        r.metadata.deletionTimestamp == nil && r.status?.phase == .running && r.status?.ready == true
            && r.spec.nodeName != nil && r.spec.network?.ip != nil
    }

    /// The selected serving replicas, sorted by name (stable for renderers and diffs).
    public var endpoints: [Endpoint] {
        let port = service.spec.ports.first?.effectiveTargetPort
        return replicas.filter {
            $0.metadata.project == service.metadata.project && Self.selects(service.spec.selector, $0.metadata.labels)
                && Self.serving($0)
        }
        .map { Endpoint(ip: $0.spec.network?.ip ?? "", port: port, replica: $0.metadata.name, node: $0.spec.nodeName, ready: true) }
        .sorted { ($0.replica ?? "") < ($1.replica ?? "") }
    }

    /// The status to write, or nil when the stored one is already right.
    public func desiredStatus() -> ServiceStatus? {
        let current = service.status
        let eps = endpoints
        let selected = replicas.filter {
            $0.metadata.project == service.metadata.project && Self.selects(service.spec.selector, $0.metadata.labels)
        }
        let selector = service.spec.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let (reason, message): (String, String)
        if eps.isEmpty {
            reason = "NoEndpoints"
            message = selected.isEmpty
                ? "no replica matches selector \(selector): the VIP answers 503"
                : "\(selected.count) replica(s) match selector \(selector) but none is Ready: the VIP answers 503"
        } else {
            reason = "Ready"
            message = "\(eps.count) ready endpoint(s) on \(Set(eps.compactMap(\.node)).count) node(s)"
        }
        let sameEndpoints = (current?.endpoints ?? []) == eps && current?.generation != nil
        // saturating: a status a client forced to Int.max must not trap the controller
        let generation = sameEndpoints ? (current?.generation ?? 1) : min(current?.generation ?? 0, Int.max - 1) + 1
        let next = ServiceStatus(endpoints: eps, generation: generation, reason: reason, message: message)
        return next == current ? nil : next
    }
}
