import KumoModel

/// One concrete path the API server answers, with its methods: an `APIRoute` written out for one kind where the
/// route is generic (`/api/v1/projects/{project}/workloads/{name}` for `.projectObject` of `.workload`). The
/// server's router registers exactly these, and `/openapi.json` describes exactly these (a test checks both), so
/// each kind has its own paths and schemas, as Kubernetes' API has.
public struct APIEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var route: APIRoute
    /// The kind of a resource route (nil for the others).
    public var kind: Kind?
    /// The OpenAPI path template; parameters in braces.
    public var path: String
    public var methods: [String]

    public init(route: APIRoute, kind: Kind? = nil, path: String, methods: [String]) {
        self.route = route
        self.kind = kind
        self.path = path
        self.methods = methods
    }

    public var description: String { "\(methods.joined(separator: ",")) \(path)" }

    /// Every endpoint, in a stable order: the fixed routes, then each kind's.
    public static let all: [APIEndpoint] = APIRoute.allCases.flatMap { expand($0) }

    /// The endpoint of a resolved path (nil when its route has none for that kind, e.g. a history of a kind
    /// without objects of its own at that scope).
    public static func of(_ resolved: ResolvedPath) -> APIEndpoint? {
        all.first { $0.route == resolved.route && $0.kind == resolved.kind }
    }

    static func expand(_ route: APIRoute) -> [APIEndpoint] {
        let clusterKinds = Kind.allCases.filter { $0.scope != .project }
        let projectKinds = Kind.allCases.filter { $0.scope != .cluster }
        switch route {
        case .clusterCollection:
            // project kinds list across projects here; they are created in a project
            return Kind.allCases.map { kind in
                APIEndpoint(
                    route: route, kind: kind, path: "/api/v1/\(kind.plural)",
                    methods: kind.scope == .project ? ["GET"] : route.methods)
            }
        case .clusterObject:
            return clusterKinds.map { APIEndpoint(route: route, kind: $0, path: "/api/v1/\($0.plural)/{name}", methods: route.methods) }
        case .clusterObjectHistory:
            return clusterKinds.map {
                APIEndpoint(route: route, kind: $0, path: "/api/v1/\($0.plural)/{name}/history", methods: route.methods)
            }
        case .projectCollection:
            return projectKinds.map {
                APIEndpoint(route: route, kind: $0, path: "/api/v1/projects/{project}/\($0.plural)", methods: route.methods)
            }
        case .projectObject:
            return projectKinds.map {
                APIEndpoint(route: route, kind: $0, path: "/api/v1/projects/{project}/\($0.plural)/{name}", methods: route.methods)
            }
        case .projectObjectHistory:
            return projectKinds.map {
                APIEndpoint(
                    route: route, kind: $0, path: "/api/v1/projects/{project}/\($0.plural)/{name}/history",
                    methods: route.methods)
            }
        case .nodeLease, .nodeAgentState, .nodeAgentMetrics, .nodeHealth:
            return [APIEndpoint(route: route, kind: .node, path: route.template, methods: route.methods)]
        case .replicaLogs:
            return [APIEndpoint(route: route, kind: .replica, path: route.template, methods: route.methods)]
        case .instanceConsole:
            return [APIEndpoint(route: route, kind: .instance, path: route.template, methods: route.methods)]
        case .serviceLoadBalancers:
            return [APIEndpoint(route: route, kind: .service, path: route.template, methods: route.methods)]
        case .imageTag:
            return [APIEndpoint(route: route, kind: .image, path: route.template, methods: route.methods)]
        default:
            return [APIEndpoint(route: route, path: route.template, methods: route.methods)]
        }
    }
}
