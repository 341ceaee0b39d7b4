import Hummingbird
import KumoModel
import NIOCore
import Synchronization

/// The API's request context: Hummingbird's basics, the connection's source address (audit, rate limits), and
/// the caller's identity once `AuthenticationMiddleware` has established it.
public struct KumoRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Set by `AuthenticationMiddleware` for the handlers after it; nil on the unauthenticated routes.
    public var identity: Identity?
    /// Who the request turned out to be, for the middlewares that wrap authentication (they see the context as
    /// it was before it, so the authenticated name travels back in this shared box).
    let caller = Caller()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The source IP ("unknown" when the socket has none).
    public var sourceIP: String { remoteAddress?.ipAddress ?? "unknown" }

    /// The identity the handlers run as; only reachable behind `AuthenticationMiddleware`.
    func authenticated() throws(KumoError) -> Identity {
        guard let identity else { throw KumoError(.internal, "handler reached without authentication") }
        return identity
    }

    final class Caller: Sendable {
        private let name = Mutex<String?>(nil)
        var value: String? {
            get { name.withLock { $0 } }
            set { name.withLock { $0 = newValue } }
        }
    }
}
