import AsyncHTTPClient
import Foundation
import KumoModel
import Logging
import NIOCore
import NIOHTTP1

/// The HTTP client of the Kumo API, used by the CLI, benchmarks, tests and (later) the agent.
/// Every failure is a `KumoError`: the server's error body as sent, or `.unavailable` with what went wrong.
public struct KumoClient: Sendable {
    public let baseURL: String
    public let token: String
    /// The HTTP client and whether this client owns it (then the last copy of this client shuts it down).
    let transport: HTTPTransport
    public var http: HTTPClient { transport.http }
    public var timeout: TimeAmount = .seconds(30)
    /// Why this client refuses to send anything: it could not be built as configured (a pinned CA that does not
    /// parse). Pinning fails closed: never a fallback to the system's trust roots.
    public let refusal: KumoError?

    /// A client over an HTTP client the caller owns (and shuts down).
    public init(baseURL: String, token: String, http: HTTPClient) {
        self.init(baseURL: baseURL, token: token, transport: HTTPTransport(http, owned: false), refusal: nil)
    }

    init(baseURL: String, token: String, transport: HTTPTransport, refusal: KumoError?) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.token = token
        self.transport = transport
        self.refusal = refusal
    }

    /// A client that trusts only the cluster CA `caPEM`, with its own connection pool (shut down with the last copy
    /// of this client, or by `shutdown()`). nil: the system's trust roots (an operator's certificate). A `caPEM`
    /// that does not parse gives a client whose every request fails with that error.
    public init(baseURL: String, token: String, caPEM: String?) {
        do {
            let http = try ClusterTrust.httpClient(caPEM: caPEM)
            self.init(baseURL: baseURL, token: token, transport: HTTPTransport(http, owned: true), refusal: nil)
        } catch {
            let refusal = KumoError(
                .invalid,
                "refusing to connect to \(baseURL): the pinned cluster CA does not parse (\(error.message)); fix the CA in "
                    + "your config (\(ClientConfig.defaultPath)) or log in again with `kumo login --server URL --ca FILE`",
                field: "ca", cause: error)
            self.init(baseURL: baseURL, token: token, transport: HTTPTransport(ClusterTrust.refusingHTTPClient(), owned: true), refusal: refusal)
        }
        self.caPEM = caPEM
    }

    /// Shuts this client's own HTTP client down now (its copies become unusable); a no-op for a borrowed one.
    public func shutdown() async {
        await transport.shutdown()
    }

    /// With the CA stored by `kumo login`.
    public init(config: ClientConfig) {
        self.init(baseURL: config.server, token: config.token, caPEM: config.ca)
    }

    public init(config: ClientConfig, http: HTTPClient) {
        self.init(baseURL: config.server, token: config.token, http: http)
    }

    /// The cluster CA this client trusts (for error messages).
    public private(set) var caPEM: String?

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]

        public func json() throws(KumoError) -> JSONValue { try JSONValue(parsing: body) }

        public func decode<T: Decodable>(_ type: T.Type) throws(KumoError) -> T {
            do {
                return try KumoModel.decode(jsonBytes: body, as: type)
            } catch {
                throw KumoError(.internal, "failed to decode server response as \(T.self): \(error.message)", cause: error)
            }
        }
    }

    /// Sends one request; non-2xx statuses become the server's `KumoError`.
    @discardableResult
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
        contentType: String = "application/json", maxResponseBytes: Int = 256 << 20
    ) async throws(KumoError) -> Response {
        if let refusal { throw refusal }
        let request = makeRequest(method, path, query: query, body: body, contentType: contentType)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            let bytes = Array(buffer.readableBytesView)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { throw Self.error(status: status, body: bytes) }
            return Response(status: status, headers: response.headers, body: bytes)
        } catch let e as KumoError {
            throw e
        } catch {
            throw unreachable(error)
        }
    }

    /// A GET whose body is handed over chunk by chunk as it arrives (`kumo logs -f`).
    public func stream(
        _ path: String, query: [(String, String)] = [], timeout: TimeAmount = .hours(24),
        _ onChunk: @Sendable ([UInt8]) -> Void
    ) async throws(KumoError) {
        if let refusal { throw refusal }
        let request = makeRequest(.GET, path, query: query, body: nil, contentType: "")
        do {
            let response = try await http.execute(request, timeout: timeout)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let body = try await response.body.collect(upTo: 1 << 20)
                throw Self.error(status: status, body: Array(body.readableBytesView))
            }
            for try await chunk in response.body { onChunk(Array(chunk.readableBytesView)) }
        } catch let e as KumoError {
            throw e
        } catch {
            throw unreachable(error)
        }
    }

    /// Opens a watch stream and yields each event line as it arrives.
    public func watch(_ path: String, query: [(String, String)]) async throws(KumoError) -> AsyncThrowingStream<
        WatchEventWire, any Error
    > {
        if let refusal { throw refusal }
        var request = makeRequest(.GET, path, query: query + [("watch", "true")], body: nil, contentType: "")
        request.headers.replaceOrAdd(name: "Accept", value: "application/x-ndjson")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw unreachable(error)
        }
        let status = Int(response.status.code)
        guard status == 200 else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw Self.error(status: status, body: body)
        }
        return AsyncThrowingStream { continuation in
            let task = Task {
                var pending: [UInt8] = []
                do {
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = Array(pending[..<nl])
                            pending.removeSubrange(...nl)
                            if line.isEmpty { continue }
                            let value = try JSONValue(parsing: line)
                            let event = WatchEventWire(
                                type: value["type"]?.stringValue ?? "", object: value["object"] ?? .null)
                            if event.type == "ERROR" {
                                let e = value["object"]?["error"]
                                throw KumoError(
                                    KumoError.Code(rawValue: e?["code"]?.stringValue ?? "internal"),
                                    e?["message"]?.stringValue ?? "watch failed", field: e?["field"]?.stringValue)
                            }
                            continuation.yield(event)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func makeRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?, contentType: String
    ) -> HTTPClientRequest {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(APIPaths.encodeQuery($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "User-Agent", value: "kumo/\(KumoVersion.current)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    static func error(status: Int, body: [UInt8]) -> KumoError {
        if let parsed = try? KumoModel.decode(jsonBytes: body, as: ErrorBody.self) {
            return parsed.kumoError
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self)
        let code: KumoError.Code =
            switch status {
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 409: .conflict
            case 413: .payloadTooLarge
            case 503: .unavailable
            default: .internal
            }
        return KumoError(code, "server answered \(status): \(text)")
    }

    func unreachable(_ error: any Error) -> KumoError {
        let text = "\(error)"
        if baseURL.hasPrefix("https://"),
            text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("handshakeFailed") || text.contains("certificate")
        {
            let pinned = caPEM.flatMap { try? ClusterTrust.fingerprint(pem: $0) }.map(ClusterTrust.display)
            return KumoError(
                .unavailable,
                "refusing to talk to \(baseURL): its TLS certificate is not signed by the cluster CA this client trusts"
                    + (pinned.map { " (\($0))" } ?? "")
                    + " — the server's CA changed, or this is not your server. If the change is expected, log in again "
                    + "with `kumo login --server \(baseURL) --ca FILE` (FILE: the server's <data-dir>/ca.crt). (\(text))",
                cause: error)
        }
        if baseURL.hasPrefix("http://"), text.contains("remoteConnectionClosed") || text.contains("connectionReset") {
            return KumoError(
                .unavailable,
                "the Kumo server at \(baseURL) closed the connection: Kumo servers speak only HTTPS — use https:// (\(text))",
                cause: error)
        }
        return KumoError(
            .unavailable,
            "failed to reach the Kumo server at \(baseURL): \(error) — is `kumo server` running, and is the URL in "
                + "your config (\(ClientConfig.defaultPath)) right?", cause: error)
    }
}
