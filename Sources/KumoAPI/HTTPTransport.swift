import AsyncHTTPClient
import Synchronization

/// An HTTP client and who shuts it down. A `KumoClient` made from a CA owns its HTTP client: when the last copy of
/// the client goes, the transport shuts the HTTP client down (without blocking: AsyncHTTPClient keeps itself alive
/// until its pool has closed). A borrowed one (`owned: false`) belongs to whoever passed it in.
final class HTTPTransport: Sendable {
    let http: HTTPClient
    let owned: Bool
    private let closed = Mutex(false)

    init(_ http: HTTPClient, owned: Bool) {
        self.http = http
        self.owned = owned
    }

    func shutdown() async {
        guard owned, closed.withLock({ c in defer { c = true }; return !c }) else { return }
        try? await http.shutdown()
    }

    deinit {
        guard owned, closed.withLock({ c in defer { c = true }; return !c }) else { return }
        http.shutdown { _ in }
    }
}
