import Hummingbird
import KumoAPI
import KumoModel

/// The API server's HTTP layer: Hummingbird's router with one route per `APIEndpoint` (each kind its own paths)
/// and the cross-cutting concerns as middleware, outermost first:
///
///     MetricsMiddleware        every request, matched or not: count and duration by endpoint, method, status
///     ErrorMiddleware          any error → {"error":{code,message,field}}; unmatched paths explained (404/405)
///     ── /healthz, /readyz, /cacerts: no token ──
///     RefusalAuditMiddleware   401/403/429 → audit log + metric
///     FailureRateLimitMiddleware  too many failed authentications from a source → 429; counts 401s
///     AuthenticationMiddleware bearer token → `context.identity`
///     handlers (`APIHandlers`): authorize, then do
public enum APIRouter {
    public static func build(core: ServerCore) -> Router<KumoRequestContext> {
        let router = Router(context: KumoRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: core.metrics))
        router.add(middleware: ErrorMiddleware(logger: core.logger))
        let handlers = APIHandlers(core: core)
        let authenticated = router.group()
            .add(middleware: RefusalAuditMiddleware(core: core))
            .add(middleware: FailureRateLimitMiddleware(limiter: core.failureLimiter))
            .add(middleware: AuthenticationMiddleware(tokens: core.tokens))
        for endpoint in APIEndpoint.all {
            let path = RouterPath(routerPath(endpoint))
            for method in endpoint.methods {
                let handler: @Sendable (Request, KumoRequestContext) async throws -> Response = { request, context in
                    try await handlers.respond(endpoint, request, context)
                }
                if publicRoutes.contains(endpoint.route) {
                    router.on(path, method: .init(method)!, use: handler)
                } else {
                    authenticated.on(path, method: .init(method)!, use: handler)
                }
            }
        }
        return router
    }

    /// Answered without a token: liveness, readiness, and the CA bundle a client checks before trusting.
    static let publicRoutes: Set<APIRoute> = [.healthz, .readyz, .cacerts]

    /// The endpoint's path as the router matches it. Image names may span segments (`library/busybox`), so they
    /// are a recursive capture; a Project's own name sits where other routes have `{project}`, and one trie level
    /// takes one capture name, so it is captured as `{project}` there.
    static func routerPath(_ endpoint: APIEndpoint) -> String {
        var path = endpoint.path
        if endpoint.kind == .image, path.hasPrefix("/api/v1/images/{name}") {
            path = path.replacingOccurrences(of: "/api/v1/images/{name}", with: "/api/v1/images/**")
        }
        if endpoint.kind == .project, path.hasPrefix("/api/v1/projects/{name}") {
            path = path.replacingOccurrences(of: "/api/v1/projects/{name}", with: "/api/v1/projects/{project}")
        }
        return path
    }

    /// The resolved path of a matched request: the endpoint's route and kind, its parameters percent-decoded.
    static func resolved(_ endpoint: APIEndpoint, _ context: KumoRequestContext) throws(KumoError) -> ResolvedPath {
        let parameters = context.parameters
        func decoded(_ raw: String?) throws(KumoError) -> String? {
            try raw.map { raw throws(KumoError) in try ResolvedPath.decodeSegment(raw) }
        }
        var path = ResolvedPath(route: endpoint.route, kind: endpoint.kind)
        let projectRoute: Set<APIRoute> = [
            .projectCollection, .projectObject, .projectObjectHistory, .replicaLogs, .instanceConsole, .serviceLoadBalancers,
        ]
        if projectRoute.contains(endpoint.route) { path.project = try decoded(parameters.get("project")) }
        if endpoint.kind == .image, endpoint.path.hasPrefix("/api/v1/images/{name}") {
            let segments = try parameters.getCatchAll().map { s throws(KumoError) in try decoded(String(s)) ?? "" }
            path.name = segments.joined(separator: "/")
        } else if endpoint.kind == .project, endpoint.path.hasPrefix("/api/v1/projects/{name}") {
            path.name = try decoded(parameters.get("project"))
        } else {
            path.name = try decoded(parameters.get("name") ?? parameters.get("digest") ?? parameters.get("code"))
        }
        path.tag = try decoded(parameters.get("tag"))
        return path
    }
}
