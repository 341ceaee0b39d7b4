import Hummingbird
import KumoModel

/// Records every refused request — 401 (unauthenticated or expired), 403 (forbidden), 429 (rate limited) — in
/// the audit log and the auth-failure metric: reason, who (the identity once authenticated; before that only the
/// kind of credential presented, never any of its text), method, path, source, status, message.
struct RefusalAuditMiddleware: RouterMiddleware {
    typealias Context = KumoRequestContext
    let core: ServerCore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as KumoError where [401, 403, 429].contains(error.code.httpStatus) {
            await record(request, error: error, source: context.sourceIP, who: context.caller.value)
            throw error
        }
    }

    func record(_ request: Request, error: KumoError, source: String, who identity: String?) async {
        let reason: String
        switch error.code.httpStatus {
        case 401: reason = TokenService.isExpiry(error) ? "expired" : "unauthenticated"
        case 403: reason = "forbidden"
        default: reason = "rateLimited"
        }
        core.metrics.recordAuthFailure(reason: reason)
        let who = identity ?? Self.credentialKind(request.headers[.authorization])
        await core.audit.record(
            AuditRecord(
                time: ObjectCodec.now(), reason: reason, who: who, method: request.method.rawValue,
                path: request.uri.path, source: source, status: error.code.httpStatus, message: error.message))
    }

    static func credentialKind(_ header: String?) -> String {
        guard let header, !header.isEmpty else { return "no credential" }
        let scheme = header.split(separator: " ", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        return ["bearer", "basic", "digest", "negotiate"].contains(scheme) ? "\(scheme) credential" : "malformed credential"
    }
}
