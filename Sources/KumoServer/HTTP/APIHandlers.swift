import Foundation
import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel
import Logging
import NIOCore

/// What each endpoint does, once `APIRouter`'s middleware has matched the path and authenticated the caller:
/// authorize (`Authorizer`, next to the operation it guards), then act through the services in `ServerCore`.
public struct APIHandlers: Sendable {
    let core: ServerCore

    public init(core: ServerCore) { self.core = core }

    func respond(_ endpoint: APIEndpoint, _ request: Request, _ context: KumoRequestContext) async throws(KumoError)
        -> Response
    {
        let resolved = try APIRouter.resolved(endpoint, context)
        let query = Query(request.uri.queryParameters)
        let method = request.method.rawValue
        switch endpoint.route {
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
        let identity = try context.authenticated()
        switch endpoint.route {
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
            let tokenRequest = try KumoModel.decode(try await readJSON(request), as: TokenRequest.self)
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
            let join = try KumoModel.decode(try await readJSON(request), as: JoinRequest.self)
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
                return Self.json(try await core.leases.get(node))
            }
            try Authorizer.authorize(identity, .update, .node, project: nil, name: node)
            let body = try await readBody(request)
            // numbers a node token sends: read exactly and in range, never converted with a trapping Int(Double)
            let json: JSONValue? = try body.isEmpty ? nil : JSONValue(parsing: body)
            let duration = try json?["durationSeconds"]?.integer(field: "durationSeconds", in: NodeLeases.durationRange)
            let applied = try json?["loadBalancer"]?["appliedRevision"]?
                .integer(field: "loadBalancer.appliedRevision", in: 0...Int(Int64.max / 2))
            return Self.json(
                try await core.leases.renew(node, durationSeconds: duration, appliedRevision: applied.map { Int64($0) }, holder: identity.name))
        case .serviceLoadBalancers:
            return try await serviceLoadBalancers(resolved, query: query, identity: identity)
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
        case .doctor:
            return try await doctor(query: query, identity: identity)
        case .doctorMutes:
            return try await doctorMutes(request, method: method, identity: identity)
        case .doctorMute:
            return try await doctorMute(resolved, identity: identity)
        case .explain:
            return try await explain(query: query, identity: identity)
        case .nodeHealth:
            return try await nodeHealth(request, resolved, method: method, identity: identity)
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
        json(KumoModel.encode(value), status: status)
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
