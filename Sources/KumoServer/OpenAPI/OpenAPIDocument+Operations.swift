import KumoAPI
import KumoModel

extension OpenAPIDocument {
    /// The proxied operations' own 5xx: the node's agent registered but does not answer (no agent: 409).
    static let agentUnreachable: [String: JSONValue] = [
        "503": response("the node's agent is not reachable", "Error")
    ]

    /// A text stream from the object's node's agent (a replica's log, an instance's console).
    static func agentStream(_ what: String, text: String) -> JSONValue {
        op(
            what + ", proxied to its node's agent; `tail=N` last lines, `follow=true` streams",
            params: [
                projectParam, nameParam, param("tail", "query", "last N lines", type: "integer"),
                param("follow", "query", "keep streaming new output", type: "boolean"),
            ],
            ok: ("200", response(text, "Binary", contentType: "text/plain")), also: agentUnreachable)
    }

    /// Operations by route; `document()` renders them.
    static func operations(_ route: APIRoute) -> JSONValue {
        switch route {
        case .clusterCollection, .clusterObject, .clusterObjectHistory, .projectCollection, .projectObject,
            .projectObjectHistory:
            [:]  // per kind: resourceOperations
        case .healthz:
            ["get": op("Liveness (no token needed)", ok: ("200", response("ok")), auth: false)]
        case .readyz:
            ["get": op("Readiness: the store answers (no token needed)", ok: ("200", response("ok")), auth: false)]
        case .metrics:
            ["get": op("Prometheus metrics (admin)", ok: ("200", response("text exposition format")))]
        case .debugState:
            ["get": op("Internal state as JSON (admin): revisions, watchers, DB/WAL size, retention", ok: ("200", response("state", "AnyObject")))]
        case .openapi:
            ["get": op("This document", ok: ("200", response("OpenAPI 3 document", "AnyObject")))]
        case .version:
            ["get": op("Server version", ok: ("200", response("version", "Version")))]
        case .cacerts:
            [
                "get": op(
                    "The cluster CA bundle (PEM; no token needed). Its SHA-256 (over the certificates' DER) is what join "
                        + "tokens pin (K10<hash>::<secret>) and what `kumo login` shows",
                    ok: ("200", response("PEM certificates", "Binary", contentType: "application/x-pem-file")), auth: false)
            ]
        case .audit:
            [
                "get": op(
                    "Authentication failures, authorization denials and rate-limited requests (admin), newest first: "
                        + "time, reason, who (identity or token hint), what (method, path), from where (source address)",
                    params: [
                        param("limit", "query", "newest N (default 100)", type: "integer"),
                        param("reason", "query", "only this reason (unauthenticated, expired, forbidden, rateLimited)"),
                        param("source", "query", "only requests from this address"),
                    ],
                    ok: ("200", response("audit records", "AuditList")))
            ]
        case .tokens:
            [
                "get": op("List project, join and node tokens, without secrets (admin): expiry and last use", ok: ("200", response("tokens", "TokenList"))),
                "post": op(
                    "Create a project token (admin); the secret is in the response only", body: "TokenRequest",
                    ok: (
                        "201",
                        withLinks(
                            response("the token with its secret", "Token"),
                            [
                                "Revoke": [
                                    "operationId": "deleteToken",
                                    "parameters": ["name": "$response.body#/name"],
                                ]
                            ])
                    )),
            ]
        case .token:
            [
                "delete": op(
                    "Revoke a token by its id (admin): the next request with it gets 401 and its open watch streams end",
                    params: [nameParam], ok: ("200", response("deleted, with the number of watch streams closed")))
            ]
        case .join:
            [
                "post": op(
                    "Exchange a join token (the bearer) for the node token of {node}; re-joining rotates it",
                    body: "JoinRequest", ok: ("201", response("the node token with its secret", "Token")))
            ]
        case .nodeLease:
            [
                "get": op("A node's heartbeat lease", params: [nameParam], ok: ("200", response("lease", "Lease"))),
                "put": op(
                    "Renew a node's lease (its agent; not a Node write, not in history)", params: [nameParam],
                    body: "LeaseRequest", ok: ("200", response("lease", "Lease"))),
            ]
        case .nodeAgentState:
            [
                "get": op(
                    "The node agent's internal state (admin), proxied to the agent: runners, images, heartbeat",
                    params: [nameParam], ok: ("200", response("agent state", "AnyObject")), also: agentUnreachable)
            ]
        case .nodeAgentMetrics:
            [
                "get": op(
                    "The node agent's Prometheus metrics (admin), proxied to the agent: replicas, images, overlay, LB, DHCP",
                    params: [nameParam], ok: ("200", response("Prometheus text exposition format")), also: agentUnreachable)
            ]
        case .serviceLoadBalancers:
            [
                "get": op(
                    "Which live nodes' load balancers serve the service as of a store revision: each agent acknowledges, "
                        + "with its lease, the revision its HAProxy config reflects. A draining replica waits until no live "
                        + "node lags the revision of the first service version without it",
                    params: [
                        projectParam, nameParam,
                        param("revision", "query", "the revision to compare with (default: the service's resourceVersion)", type: "integer"),
                    ],
                    ok: ("200", response("live nodes, how many serve the revision, the lagging ones", "ServiceLoadBalancers")))
            ]
        case .instanceConsole:
            ["get": agentStream("An instance's serial console log", text: "console text")]
        case .replicaLogs:
            ["get": agentStream("A replica's container output", text: "log text")]
        case .blob:
            [
                "get": op(
                    "Download a blob (admin, project and node tokens), streamed",
                    params: [digestParam], ok: ("200", response("the blob's bytes", "Binary", contentType: "application/octet-stream"))),
                "head": op("Whether a blob is stored, and its size (Content-Length)", params: [digestParam], ok: ("200", response("stored"))),
                "put": op(
                    "Upload a blob (admin), streamed; not held to the 3 MiB body limit but to the server's --max-blob-bytes. "
                        + "The content must hash to {digest} (else 422, field digest, nothing stored)",
                    params: [digestParam], body: "Binary", bodyType: "application/octet-stream",
                    ok: ("201", response("stored", "BlobInfo")),
                    also: ["200": response("was already stored (created: false)", "BlobInfo")]),
            ]
        case .imageTag:
            [
                "put": op(
                    "Point a tag at an OCI image manifest (admin). Every blob it names must be stored with the stated size, "
                        + "the config must be JSON and every layer a complete tar (else 422 naming it; nothing tagged). "
                        + "The manifest is stored as a blob; the digest is in the Kumo-Content-Digest header",
                    params: [imageNameParam, tagParam, managerParam], body: "OCIManifest",
                    bodyType: "application/vnd.oci.image.manifest.v1+json",
                    ok: ("201", response("the Image, created", "Image")),
                    also: ["200": response("the Image, updated", "Image")]),
                "delete": op(
                    "Remove a tag (admin); blobs no Image refers to are collected once older than the GC grace",
                    params: [imageNameParam, tagParam, managerParam], ok: ("200", response("the Image", "Image"))),
            ]
        case .backup:
            [
                "get": op(
                    "Online consistent copy of the store (admin); restore with `kumo server --restore FILE`",
                    ok: ("200", response("SQLite database", "Binary", contentType: "application/vnd.sqlite3"))),
                "post": op(
                    "Online consistent copy of the store that may also carry the secrets key, sealed under a passphrase "
                        + "(admin); restore with `kumo server --restore FILE --backup-passphrase-file F`",
                    body: "BackupRequest",
                    ok: ("200", response("SQLite database", "Binary", contentType: "application/vnd.sqlite3"))),
            ]
        case .doctor:
            [
                "get": op(
                    "Health checks (admin; a project token: its own project, node-level evidence summarized): every "
                        + "finding with its code, severity, responsible component, node, object, evidence and onset, and "
                        + "the root causes ranked, each with the findings it explains. `target=KIND/NAME` answers why that "
                        + "object is unhealthy; `fresh=true` evaluates now instead of serving the last round (every few seconds)",
                    params: [
                        param("target", "query", "KIND/NAME: node/node-2, service/web, replica/X, instance/vm1, workload/web"),
                        param("project", "query", "the project of a target, or only findings about this project"),
                        param("fresh", "query", "evaluate every check now", type: "boolean"),
                    ],
                    ok: ("200", response("the report", "DoctorReport")))
            ]
        case .doctorMutes:
            [
                "get": op("Muted health check codes (admin)", ok: ("200", response("mutes", "HealthMuteList"))),
                "post": op(
                    "Mute a code (admin), as Ceph does: until `ttlSeconds` pass; unless `sticky`, also until the code "
                        + "clears or its count grows",
                    body: "HealthMuteRequest", ok: ("201", response("the mute", "HealthMute"))),
            ]
        case .doctorMute:
            [
                "delete": op(
                    "Unmute a code (admin)", params: [param("code", "path", "a health check code")],
                    ok: ("200", response("deleted")))
            ]
        case .explain:
            [
                "get": op(
                    "Kumo's components (admin): each one's responsibility, what it depends on and what depends on it, what "
                        + "breaks if it dies and what keeps working, where its state, logs and metrics are, and its live status",
                    params: [param("component", "query", "one component, e.g. dnsmasq or controller/endpoints")],
                    ok: ("200", response("components", "ComponentStatusList")))
            ]
        case .nodeHealth:
            [
                "get": op("A node's latest health report (admin)", params: [nameParam], ok: ("200", response("report", "NodeHealthReport"))),
                "post": op(
                    "A node agent's health report for its own node: what only it can measure (dnsmasq and HAProxy "
                        + "answers, peer probes, DHCP refusals by MAC, overlay entries, host facts); the doctor judges it",
                    params: [nameParam], body: "NodeHealthReport", ok: ("202", response("recorded"))),
            ]
        case .secretKeyRotation:
            [
                "post": op(
                    "Rotate the key that seals secret values at rest (admin): a new key, every secret re-encrypted "
                        + "under it, then the old key retired; reads keep working meanwhile (409 if a rotation runs)",
                    params: [managerParam], ok: ("200", response("the new key id and what was re-encrypted", "SecretKeyRotation")))
            ]
        }
    }
}
