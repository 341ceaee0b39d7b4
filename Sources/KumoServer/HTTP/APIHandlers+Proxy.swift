import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel
import NIOCore

/// The server's proxy to node agents (DESIGN.md: `kumo logs`, `kumo state agent/<node>` reach agents through
/// the server). The agent's address comes from its Node status; the server authenticates with the agent
/// credential it handed the agent at join.
extension APIHandlers {

    func replicaLogs(_ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError) -> Response {
        try await streamFromAgent(.replica, path, query: query, identity: identity, what: "logs", agentPrefix: "/logs")
    }

    /// `kumo console instance/x [-f]`: the serial console log from the instance's node.
    func instanceConsole(_ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError) -> Response {
        try await streamFromAgent(.instance, path, query: query, identity: identity, what: "console", agentPrefix: "/console")
    }

    /// A bound object's text stream (a replica's log, an instance's console) from its node's agent: the last `tail`
    /// lines, then — with `follow=true` — what is appended.
    private func streamFromAgent(
        _ kind: Kind, _ path: ResolvedPath, query: Query, identity: Identity, what: String, agentPrefix: String
    ) async throws(KumoError) -> Response {
        let ref = ObjectRef(kind, project: path.project, name: path.name ?? "")
        try Authorizer.authorize(identity, .get, kind, project: ref.project, name: ref.name)
        let object = try await core.resources.get(ref).object
        try requireBoundToOwnNode(identity, object, ref)
        guard let node = object["spec"]?["nodeName"]?.stringValue else {
            throw KumoError(.conflict, "\(ref) is not on a node yet (Pending): it has no \(what)", field: "spec.nodeName")
        }
        var params: [(String, String)] = []
        if let tail = try query.int("tail") {
            guard tail >= 0 else { throw KumoError(.invalid, "tail must not be negative", field: "tail") }
            params.append(("tail", String(tail)))
        }
        let follow = try query.bool("follow")
        if follow { params.append(("follow", "true")) }
        let agentPath = "\(agentPrefix)/\(APIPaths.encode(ref.project ?? ""))/\(APIPaths.encode(ref.name))"
        return try await proxyToAgent(node: node, path: agentPath, query: params, stream: true, follow: follow)
    }

    /// Forwards a GET to `node`'s agent; the answer (status, body) is passed through, streamed when `stream`.
    func proxyToAgent(node: String, path: String, query: [(String, String)], stream: Bool, follow: Bool = false)
        async throws(KumoError) -> Response
    {
        let nodeObject = try await core.resources.get(ObjectRef(.node, name: node)).object
        // a node whose agent never registered is a state of the cloud, like a replica not bound yet (409), not a
        // failure of this server; an agent that registered but does not answer stays 503 below
        guard let base = nodeObject["status"]?["agentURL"]?.stringValue, !base.isEmpty else {
            throw KumoError(
                .conflict, "node \(node) has no agent endpoint (status.agentURL): its agent has not registered",
                field: "status.agentURL")
        }
        // written before status validation refused it: a state of the cloud to repair, not this server failing
        if let why = NodeSpec.agentURLReason(base) {
            throw KumoError(
                .conflict, "node \(node) has an unusable agent endpoint (status.agentURL \(base)): it \(why)",
                field: "status.agentURL")
        }
        var url = base + path
        if !query.isEmpty { url += "?" + query.map { "\($0.0)=\(APIPaths.encodeQuery($0.1))" }.joined(separator: "&") }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(core.tokens.agentCredential)")
        let response: HTTPClientResponse
        do {
            response = try await core.agentHTTP.execute(request, timeout: follow ? .hours(24) : .seconds(30))
        } catch {
            throw KumoError(.unavailable, "the agent of node \(node) at \(base) is not reachable: \(error)", cause: error)
        }
        let status = HTTPResponse.Status(code: Int(response.status.code))
        var headers = HTTPFields()
        headers[.contentType] = response.headers.first(name: "Content-Type") ?? "application/octet-stream"
        guard stream, response.status.code == 200 else {
            let body: ByteBuffer
            do { body = try await response.body.collect(upTo: 64 << 20) } catch {
                throw KumoError(.unavailable, "reading the agent of node \(node) failed: \(error)", cause: error)
            }
            return Response(status: status, headers: headers, body: .init(byteBuffer: body))
        }
        let body = ResponseBody { writer in
            for try await chunk in response.body { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}
