import Foundation
import KumoAPI
import KumoModel

/// The agent's calls to the API server, all with its node token: exactly what the node authorizer allows
/// (its Node and lease, the replicas bound to it, events).
public struct AgentAPI: Sendable {
    public let client: KumoClient
    public let node: String

    public init(client: KumoClient, node: String) {
        self.client = client
        self.node = node
    }

    /// Exchanges a join token for this node's token (and the credential the server uses to call the agent, and the
    /// endpoint's certificate). Before anything secret is sent, the server's CA is checked: it must hash to the
    /// token's pin (`K10<sha256>::…`) or be `trustedCA`. Returns the answer and the CA now trusted.
    public static func join(
        server: String, joinToken: String, node: String, addresses: [String] = [], trustedCA: String? = nil
    ) async throws(KumoError) -> (info: TokenInfo, caPEM: String?) {
        let token = try JoinToken(parsing: joinToken)
        var ca = trustedCA
        if server.hasPrefix("https://") && ca == nil {
            guard let pinned = token.caFingerprint else {
                throw KumoError(
                    .invalid,
                    "the join token carries no CA hash (K10<sha256>::<secret>) and no --ca was given: refusing to send it "
                        + "to \(server) unverified. Create one with `kumo token create --join`.",
                    field: "join-token")
            }
            let presented = try await ClusterTrust.fetchCA(server: server)
            let fingerprint = try ClusterTrust.fingerprint(pem: presented)
            guard fingerprint == pinned else {
                throw KumoError(
                    .forbidden,
                    "refusing to join \(server): it presents the CA \(ClusterTrust.display(fingerprint)), but the join "
                        + "token pins \(ClusterTrust.display(pinned)) — a different cluster, or a man in the middle. "
                        + "Nothing was sent.",
                    field: "join-token")
            }
            ca = presented
        }
        let client = KumoClient(baseURL: server, token: token.secret, caPEM: ca)
        let body = try JSONValue.encoded(JoinRequest(node: node, addresses: addresses))
        let info = try await client.send(.POST, "/api/v1/join", body: body).decode(TokenInfo.self)
        return (info, ca)
    }

    public func getNode() async throws(KumoError) -> JSONValue? {
        do {
            return try await client.send(.GET, APIPaths.object(.node, project: nil, name: node)).json()
        } catch where error.code == .notFound {
            return nil
        }
    }

    public func createNode(_ object: JSONValue) async throws(KumoError) -> JSONValue {
        try await client.send(.POST, APIPaths.collection(.node, project: nil), body: object.serialized()).json()
    }

    /// Merge patch of the node's own fields (status: addresses, capacity, agent URL, info).
    public func patchNode(_ patch: JSONValue) async throws(KumoError) -> JSONValue {
        try await client.send(
            .PATCH, APIPaths.object(.node, project: nil, name: node), body: patch.serialized(),
            contentType: mergePatchContentType
        ).json()
    }

    /// Renews the node's lease; with `appliedRevision`, also acknowledges the store revision of services its
    /// load balancer serves. Without `durationSeconds` the lease keeps its duration.
    public func renewLease(durationSeconds: Int?, appliedRevision: Int64? = nil) async throws(KumoError) {
        var body: [String: JSONValue] = [:]
        if let durationSeconds { body["durationSeconds"] = .number(Double(durationSeconds)) }
        if let appliedRevision { body["loadBalancer"] = ["appliedRevision": .number(Double(appliedRevision))] }
        try await client.send(.PUT, "/api/v1/nodes/\(APIPaths.encode(node))/lease", body: JSONValue.object(body).serialized())
    }

    /// Merge patch of the node's own fields, taking them back with `force` when another manager took them.
    public func patchNode(_ patch: JSONValue, force: Bool) async throws(KumoError) -> JSONValue {
        try await client.send(
            .PATCH, APIPaths.object(.node, project: nil, name: node), query: force ? [("force", "true")] : [],
            body: patch.serialized(), contentType: mergePatchContentType
        ).json()
    }

    /// Records an event about this node (best effort).
    public func nodeEvent(reason: String, message: String, warning: Bool = false) async {
        await post(event: reason, regarding: .node, project: nil, name: node, message: message, warning: warning)
    }

    var boundSelector: [(String, String)] { [("fieldSelector", "spec.nodeName=\(node)")] }

    /// The replicas bound to this node (all projects) and the revision to watch from.
    public func listReplicas() async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        try await listBound(.replica)
    }

    /// Every object of `kind` bound to this node (all projects, page by page) and the revision to watch from.
    func listBound(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        try await listAll(kind, query: boundSelector)
    }

    /// Every object of `kind` the server shows this node with `filter` (all projects, 500 a page) and the revision
    /// to watch from.
    func listAll(_ kind: Kind, query filter: [(String, String)]) async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        var items: [JSONValue] = []
        var next: String? = nil
        var revision: Int64 = 0
        repeat {
            var query = filter + [("limit", "500")]
            if let next { query.append(("continue", next)) }
            let page = try await client.send(.GET, APIPaths.collection(kind, project: nil), query: query)
                .decode(ObjectList.self)
            items += page.items
            revision = Int64(page.metadata.revision) ?? revision
            next = page.metadata.continue
        } while next != nil
        return (items, revision)
    }

    public func watchReplicas(since: Int64) async throws(KumoError) -> AsyncThrowingStream<WatchEventWire, any Error> {
        try await client.watch(
            APIPaths.collection(.replica, project: nil), query: boundSelector + [("since", String(since))])
    }

    /// Merge patch of a replica's status (the only part a node may write).
    public func patchReplicaStatus(project: String, name: String, _ status: JSONValue) async throws(KumoError) {
        try await client.send(
            .PATCH, APIPaths.object(.replica, project: project, name: name),
            body: JSONValue.object(["status": status]).serialized(), contentType: mergePatchContentType)
    }

    /// The last step of a graceful deletion: the replica is stopped and cleaned up here, so it can go.
    public func finishDeletion(project: String, name: String) async throws(KumoError) {
        do {
            try await client.send(.DELETE, APIPaths.object(.replica, project: project, name: name))
        } catch where error.code == .notFound {}
    }

    /// Records an event about a replica (best effort: an event that cannot be written is not worth failing for).
    public func event(
        project: String, replica: String, reason: String, message: String, warning: Bool = false
    ) async {
        await post(event: reason, regarding: .replica, project: project, name: replica, message: message, warning: warning)
    }

    /// Posts an Event (best effort: an event that cannot be written is not worth failing for).
    func post(event reason: String, regarding kind: Kind, project: String?, name: String, message: String, warning: Bool) async {
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let now = Timestamp.now().rfc3339
        var meta: [String: JSONValue] = ["name": .string("\(name).\(suffix)")]
        var regarding: [String: JSONValue] = ["kind": .string(kind.rawValue), "name": .string(name)]
        if let project {
            meta["project"] = .string(project)
            regarding["project"] = .string(project)
        }
        let event: JSONValue = [
            "apiVersion": .string(Kind.apiVersion), "kind": "Event", "metadata": .object(meta),
            "spec": [
                "regarding": .object(regarding), "reason": .string(reason),
                "message": .string(String(message.prefix(EventSpec.maxMessageLength))),
                "type": .string(warning ? "Warning" : "Normal"), "source": .string("node/\(node)"),
                "count": 1, "firstTime": .string(now), "lastTime": .string(now),
            ],
        ]
        _ = try? await client.send(.POST, APIPaths.collection(.event, project: project), body: event.serialized())
    }
}

extension JSONValue {
    /// The JSON bytes of an Encodable value.
    static func encoded<T: Encodable>(_ value: T) throws(KumoError) -> [UInt8] {
        encodeJSON(value)
    }
}
