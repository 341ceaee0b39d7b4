import Foundation
import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel
import Logging
import NIOCore

/// The API server's one responder: resolve the path to an `APIRoute`, authenticate, authorize, dispatch, and turn
/// every error into `{"error":{code,message,field}}` with the right status. Records metrics per route template.
public struct APIResponder: HTTPResponder {
    public typealias Context = KumoRequestContext
    let core: ServerCore

    public init(core: ServerCore) { self.core = core }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var routeLabel = "unmatched"
        var who: String? = nil
        let response: Response
        do {
            response = try await handle(request, routeLabel: &routeLabel, source: context.sourceIP, who: &who)
        } catch {
            if [401, 403, 429].contains(error.code.httpStatus) {
                await refused(request, error: error, source: context.sourceIP, who: who)
            }
            if error.code.httpStatus >= 500 {
                core.logger.error(
                    "request failed",
                    metadata: ["path": "\(request.uri.path)", "method": "\(request.method)", "error": "\(error)"])
            }
            response = Self.error(error)
        }
        core.metrics.recordRequest(
            route: routeLabel, method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }

    func handle(_ request: Request, routeLabel: inout String, source: String, who: inout String?) async throws(KumoError)
        -> Response
    {
        guard let resolved = try ResolvedPath.resolve(request.uri.path) else {
            throw KumoError(.notFound, "no route for \(request.uri.path)")
        }
        routeLabel = resolved.route.template
        let method = request.method.rawValue
        guard resolved.route.methods.contains(method) else {
            throw KumoError(
                .methodNotAllowed,
                "\(method) is not allowed on \(resolved.route.template): use \(resolved.route.methods.joined(separator: ", "))")
        }
        let query = Query(request.uri.queryParameters)
        switch resolved.route {
        case .healthz:
            return Self.text("ok\n")
        case .readyz:
            do {
                _ = try await core.store.currentRevision()
            } catch {
                throw KumoError(.unavailable, "store not ready: \(error)", cause: error)
            }
            return Self.text("ok\n")
        case .cacerts:
            var headers = HTTPFields()
            headers[.contentType] = "application/x-pem-file"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: core.ca.pem)))
        default:
            break
        }
        if let wait = core.failureLimiter.retryAfter(source) {
            throw KumoError(
                .tooManyRequests,
                "too many failed authentications from \(source): retry in \(Int(wait.rounded(.up))) s")
        }
        let identity: Identity
        do {
            identity = try await core.tokens.authenticate(authorization: request.headers[.authorization])
        } catch {
            if error.code == .unauthorized { core.failureLimiter.fail(source) }
            throw error
        }
        who = identity.name
        switch resolved.route {
        case .healthz, .readyz, .cacerts:
            return Self.text("ok\n")
        case .audit:
            try Authorizer.requireAdmin(identity, "read the audit log")
            let items = try await core.audit.query(
                limit: try query.int("limit") ?? 100, reason: query.string("reason"), source: query.string("source"))
            return try Self.json(AuditList(items: items))
        case .version:
            return try Self.json(VersionInfo(version: KumoVersion.current, apiVersion: Kind.apiVersion))
        case .openapi:
            return Self.json(OpenAPIDocument.document())
        case .metrics:
            try Authorizer.requireAdmin(identity, "read metrics")
            await refreshStoreGauges()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: core.metrics.registry.emitToBuffer())))
        case .debugState:
            try Authorizer.requireAdmin(identity, "read server state")
            return Self.json(try await DebugState.server(core))
        case .tokens:
            try Authorizer.requireAdmin(identity, "manage tokens")
            if method == "GET" { return try Self.json(TokenList(items: try await core.tokens.list())) }
            let body = try await readBody(request)
            let tokenRequest: TokenRequest
            do {
                tokenRequest = try JSONDecoder().decode(TokenRequest.self, from: Data(body))
            } catch {
                throw KumoError(.invalid, "expected {\"project\": P, \"role\": \"view\"|\"edit\", \"name\"?: N}: \(error)")
            }
            return try Self.json(try await core.tokens.create(tokenRequest, by: identity), status: 201)
        case .token:
            try Authorizer.requireAdmin(identity, "manage tokens")
            let revoked = try await core.tokens.delete(name: resolved.name ?? "")
            var closed = 0
            if let who = revoked?.identity {
                closed = core.watches.stop(owner: who, reason: KumoError(.unauthorized, "token \(resolved.name ?? "") was revoked"))
            }
            return Self.json(JSONValue.object(["status": "deleted", "watchesClosed": .number(Double(closed))]))
        case .backup:
            try Authorizer.requireAdmin(identity, "take backups")
            if method == "GET" { return try await backup(request: nil) }
            return try await backup(request: try BackupRequest.parse(try await readJSON(request)))
        case .join:
            let body = try await readBody(request)
            let join: JoinRequest
            do {
                join = try JSONDecoder().decode(JoinRequest.self, from: Data(body))
            } catch {
                throw KumoError(.invalid, "expected {\"node\": NAME}: \(error)", field: "node")
            }
            var answer = try await core.tokens.join(join, by: identity)
            // the agent's endpoint certificate: for its addresses and node name, signed by the cluster CA
            let addresses = (join.addresses ?? []).filter { CertificateAuthority.ipBytes($0) != nil }
            let issued = try core.ca.issue(
                commonName: "node/\(join.node)", dnsNames: [join.node], ipAddresses: addresses,
                lifetime: core.config.agentCertificateLifetime)
            answer.agentCertificate = issued.chainPEM
            answer.agentKey = issued.keyPEM
            return try Self.json(answer, status: 201)
        case .nodeLease:
            let node = resolved.name ?? ""
            if method == "GET" {
                try Authorizer.authorize(identity, .get, .node, project: nil, name: node)
                return Self.json(try await NodeLeases.get(node, store: core.store))
            }
            try Authorizer.authorize(identity, .update, .node, project: nil, name: node)
            let body = try await readBody(request)
            // a number a node token sends: read exactly and in range, never converted with a trapping Int(Double)
            let duration = try body.isEmpty
                ? nil : JSONValue(parsing: body)["durationSeconds"]?.integer(field: "durationSeconds", in: NodeLeases.durationRange)
            return Self.json(try await NodeLeases.renew(node, durationSeconds: duration, holder: identity.name, store: core.store))
        case .nodeAgentState:
            try Authorizer.requireAdmin(identity, "read agent state")
            return try await proxyToAgent(node: resolved.name ?? "", path: "/debug/state", query: [], stream: false)
        case .nodeAgentMetrics:
            try Authorizer.requireAdmin(identity, "read agent metrics")
            return try await proxyToAgent(node: resolved.name ?? "", path: "/metrics", query: [], stream: false)
        case .replicaLogs:
            return try await replicaLogs(resolved, query: query, identity: identity)
        case .instanceConsole:
            return try await instanceConsole(resolved, query: query, identity: identity)
        case .secretKeyRotation:
            try Authorizer.requireAdmin(identity, "rotate the secret encryption key")
            let options = WriteOptions(manager: try identity.manager(requested: query.string("manager")))
            return Self.json(try await core.resources.rotateSecretKey(options: options))
        case .blob:
            return try await blob(request, resolved, identity: identity)
        case .imageTag:
            return try await imageTag(request, resolved, query: query, identity: identity)
        case .clusterCollection, .projectCollection:
            return try await collection(request, resolved, query: query, identity: identity)
        case .clusterObject, .projectObject:
            return try await object(request, resolved, query: query, identity: identity)
        case .clusterObjectHistory, .projectObjectHistory:
            let ref = ObjectRef(resolved.kind!, project: resolved.project, name: resolved.name ?? "")
            try Authorizer.authorize(identity, .get, ref.kind, project: ref.project, name: ref.name)
            if ref.kind == .secret { try await requireSecretOfOwnReplica(identity, ref) }
            return try Self.json(try await core.resources.history(ref, limit: try query.int("limit")))
        }
    }

    /// Audit record + metric for a refused request (401, 403, 429).
    func refused(_ request: Request, error: KumoError, source: String, who identity: String?) async {
        let reason: String
        switch error.code.httpStatus {
        case 401: reason = TokenService.isExpiry(error) ? "expired" : "unauthenticated"
        case 403: reason = "forbidden"
        default: reason = "rateLimited"
        }
        core.metrics.recordAuthFailure(reason: reason)
        // who: the identity once authenticated; before that only the kind of credential presented, never any of
        // its text (a header without a known scheme may be a bare secret)
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

    func refreshStoreGauges() async {
        guard let status = try? await core.store.status() else { return }
        core.metrics.storeRevision.set(Double(status.revision))
        core.metrics.storeCompactedRevision.set(Double(status.compactedRevision))
        core.metrics.storeDatabaseBytes.set(Double(status.databaseBytes))
        core.metrics.storeWALBytes.set(Double(status.walBytes))
        if let s = core.stateProviders.withLock({ $0["scheduler"] })?() {
            let m = core.metrics
            m.schedulerQueueDepth.set(s["queueDepth"]?.numberValue ?? 0)
            m.schedulerPending.set(s["pending"]?.numberValue ?? 0)
            m.schedulerAttempts.set(s["attempts"]?.numberValue ?? 0)
            m.schedulerPlaced.set(s["placed"]?.numberValue ?? 0)
            m.schedulerUnschedulable.set(s["unschedulable"]?.numberValue ?? 0)
            m.schedulerLastPlacementSeconds.set((s["lastPlacementMs"]?.numberValue ?? 0) / 1000)
        }
    }

    /// Reads the request body, refusing more than the configured limit with 413.
    func readBody(_ request: Request) async throws(KumoError) -> [UInt8] {
        let limit = core.config.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw KumoError(.payloadTooLarge, "request body of \(length) bytes is over the limit of \(limit) bytes")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw KumoError(.payloadTooLarge, "request body is over the limit of \(limit) bytes", cause: error)
        }
    }

    func readJSON(_ request: Request) async throws(KumoError) -> JSONValue {
        let body = try await readBody(request)
        if body.isEmpty { throw KumoError(.badRequest, "request body is empty: expected a JSON object") }
        return try JSONValue(parsing: body)
    }

    // MARK: Responses

    static func error(_ error: KumoError) -> Response {
        var detail: [String: JSONValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let field = error.field { detail["field"] = .string(field) }
        return json(.object(["error": .object(detail)]), status: error.code.httpStatus)
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        var bytes = value.serialized()
        bytes.append(UInt8(ascii: "\n"))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) throws(KumoError) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var data = try encoder.encode(value)
            data.append(UInt8(ascii: "\n"))
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            throw KumoError(.internal, "failed to encode response: \(error)", cause: error)
        }
    }

    static func text(_ s: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }
}

/// Typed access to query parameters, with 400s that name the parameter.
struct Query {
    let params: [String: String]

    init<S: Sequence>(_ flat: S) where S.Element == (key: Substring, value: Substring) {
        var p: [String: String] = [:]
        for (k, v) in flat { p[String(k)] = String(v) }
        params = p
    }

    func string(_ name: String) -> String? {
        guard let v = params[name], !v.isEmpty else { return nil }
        return v
    }

    func bool(_ name: String) throws(KumoError) -> Bool {
        guard let v = params[name] else { return false }
        switch v.lowercased() {
        case "", "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw KumoError(.badRequest, "query parameter \(name) must be true or false, not \"\(v)\"", field: name)
        }
    }

    func int(_ name: String) throws(KumoError) -> Int? {
        guard let v = string(name) else { return nil }
        guard let n = Int(v), n > 0 else {
            throw KumoError(.badRequest, "query parameter \(name) must be a positive integer, not \"\(v)\"", field: name)
        }
        return n
    }

    func revision(_ name: String) throws(KumoError) -> Int64? {
        guard let v = string(name) else { return nil }
        guard let n = Int64(v), n >= 0 else {
            throw KumoError(.badRequest, "query parameter \(name) must be a revision number, not \"\(v)\"", field: name)
        }
        return n
    }
}
