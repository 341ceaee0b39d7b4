import Hummingbird
import NIOCore

/// The API's request context: Hummingbird's basics plus the connection's source address (audit, rate limits).
public struct KumoRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The source IP ("unknown" when the socket has none).
    public var sourceIP: String { remoteAddress?.ipAddress ?? "unknown" }
}
