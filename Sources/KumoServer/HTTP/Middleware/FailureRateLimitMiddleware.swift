import Hummingbird
import KumoModel

/// Slows down token guessing: a source address with too many failed authentications is refused (429, with when
/// to retry) before its token is even looked at; each 401 behind this middleware counts as a failure.
struct FailureRateLimitMiddleware: RouterMiddleware {
    typealias Context = KumoRequestContext
    let limiter: FailureLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let source = context.sourceIP
        if let wait = limiter.retryAfter(source) {
            throw KumoError(
                .tooManyRequests, "too many failed authentications from \(source): retry in \(Int(wait.rounded(.up))) s")
        }
        do {
            return try await next(request, context)
        } catch let error as KumoError where error.code == .unauthorized {
            limiter.fail(source)
            throw error
        }
    }
}
