import Hummingbird
import KumoAPI
import KumoModel
import Logging

/// Turns every error into `{"error":{code,message,field}}` with its HTTP status, logs the server's own
/// failures (5xx), and explains a path the router did not match: an unknown kind or the wrong scope (404 with
/// what exists), a method the endpoint does not answer (405 with those it does), or no route at all (404).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = KumoRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let kumoError = Self.classify(error, request)
            if kumoError.code.httpStatus >= 500 {
                logger.error(
                    "request failed",
                    metadata: ["path": "\(request.uri.path)", "method": "\(request.method)", "error": "\(kumoError)"])
            }
            let response = APIHandlers.error(kumoError)
            guard request.method == .head else { return response }
            // a HEAD answer has no body: over HTTP/2 one would reset the stream (HTTP/1.1 clients skip it)
            var headers = response.headers
            headers[.contentLength] = nil
            return Response(status: response.status, headers: headers, body: .init())
        }
    }

    static func classify(_ error: any Error, _ request: Request) -> KumoError {
        if let e = error as? KumoError { return e }
        if let e = error as? HTTPError {
            if e.status == .notFound { return unmatched(request) }
            let code: KumoError.Code =
                switch e.status.code {
                case 400: .badRequest
                case 413: .payloadTooLarge
                case 405: .methodNotAllowed
                default: .internal
                }
            return KumoError(code, e.body ?? e.status.reasonPhrase, cause: e)
        }
        return KumoError(.internal, "\(error)", cause: error)
    }

    /// Why the router found nothing for this method and path.
    static func unmatched(_ request: Request) -> KumoError {
        let path = request.uri.path
        let resolved: ResolvedPath?
        do {
            resolved = try ResolvedPath.resolve(path)
        } catch {
            return error
        }
        guard let resolved, let endpoint = APIEndpoint.of(resolved) else {
            return KumoError(.notFound, "no route for \(path)")
        }
        let method = request.method.rawValue
        var message = "\(method) is not allowed on \(endpoint.path): use \(endpoint.methods.joined(separator: ", "))"
        if let kind = endpoint.kind, kind.scope == .project, endpoint.route == .clusterCollection {
            message += " (\(kind.plural) are made in a project: POST /api/v1/projects/{project}/\(kind.plural))"
        }
        return KumoError(.methodNotAllowed, message)
    }
}
