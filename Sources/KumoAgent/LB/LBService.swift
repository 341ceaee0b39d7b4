import KumoModel

/// One service as a node's load balancer needs it: VIP, ports, policy and the endpoints of one generation.
struct LBService: Sendable, Equatable {
    var project: String
    var name: String
    var vip: String
    var ports: [ServicePort]
    var balance: BalanceAlgorithm
    var healthCheck: ServiceHealthCheck?
    var external: ServiceExternal?
    var endpoints: [Endpoint]
    var generation: Int
    var maxConnectionsPerReplica: Int? = nil

    var key: String { "\(project)/\(name)" }

    /// From a Service object; nil until the control plane gave it a VIP.
    init?(_ service: Service) {
        guard let vip = service.spec.clusterIP, let project = service.metadata.project else { return nil }
        self.project = project
        self.name = service.metadata.name
        self.vip = vip
        self.ports = service.spec.ports
        self.balance = service.spec.balance ?? .roundrobin
        self.healthCheck = service.spec.healthCheck
        self.external = service.spec.external
        self.endpoints = service.status?.endpoints ?? []
        self.generation = service.status?.generation ?? 0
        self.maxConnectionsPerReplica = service.spec.maxConnectionsPerReplica
    }

    init(
        project: String, name: String, vip: String, ports: [ServicePort], balance: BalanceAlgorithm = .roundrobin,
        healthCheck: ServiceHealthCheck? = nil, external: ServiceExternal? = nil, endpoints: [Endpoint], generation: Int,
        maxConnectionsPerReplica: Int? = nil
    ) {
        self.maxConnectionsPerReplica = maxConnectionsPerReplica
        self.project = project
        self.name = name
        self.vip = vip
        self.ports = ports
        self.balance = balance
        self.healthCheck = healthCheck
        self.external = external
        self.endpoints = endpoints
        self.generation = generation
    }

    /// HAProxy proxy name of one port (`demo.web:80`: letters, digits, `-`, `.` and `:` only).
    func proxyName(_ port: ServicePort) -> String { "\(project).\(name):\(port.port)" }
}
