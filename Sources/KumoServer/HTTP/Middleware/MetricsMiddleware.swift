import Hummingbird

/// Outermost: counts every answered request by endpoint (the router's path template, `unmatched` for paths
/// no route has), method and status, and times it (`kumo_api_requests_total`, `kumo_api_request_duration_seconds`).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = KumoRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let endpoint = context.coreContext.endpointPath.value
        metrics.recordRequest(
            route: endpoint == nil || endpoint == "NotFound" ? "unmatched" : endpoint!, method: request.method.rawValue,
            status: response.status.code, duration: ContinuousClock.now - start)
        return response
    }
}
