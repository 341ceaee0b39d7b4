import Hummingbird
import KumoModel

/// Establishes who is calling from the bearer token (401 when there is none or it is unknown or expired) and
/// hands the identity to the handlers in the context; what that identity may do is the handlers' `Authorizer`
/// call, next to what they do.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = KumoRequestContext
    let tokens: TokenService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let identity = try await tokens.authenticate(authorization: request.headers[.authorization])
        var context = context
        context.identity = identity
        context.caller.value = identity.name
        return try await next(request, context)
    }
}
