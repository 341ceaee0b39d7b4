import KumoAPI
import KumoModel

/// The OpenAPI 3 document served at `/openapi.json`. Written by hand, operation by operation; a test checks that
/// every `APIRoute` and each of its methods is described here.
public enum OpenAPIDocument {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func response(_ description: String, _ schema: String? = nil, contentType: String = "application/json")
        -> JSONValue
    {
        guard let schema else { return ["description": .string(description)] }
        return [
            "description": .string(description),
            "content": .object([contentType: ["schema": ref(schema)]]),
        ]
    }

    static let errors: [String: JSONValue] = [
        "400": response("malformed request (JSON, query parameter)", "Error"),
        "401": response("missing or unknown token", "Error"),
        "403": response("the token may not do this", "Error"),
        "404": response("not found", "Error"),
        "409": response("already exists, stale resourceVersion, or a field owned by another manager", "Error"),
        "413": response("request body over 3 MiB", "Error"),
        "422": response("semantically invalid object (field names the problem)", "Error"),
        "429": response("too many failed authentications from this address: retry later", "Error"),
    ]

    static func param(_ name: String, _ location: String = "query", _ description: String, type: String = "string")
        -> JSONValue
    {
        [
            "name": .string(name), "in": .string(location), "required": .bool(location == "path"),
            "description": .string(description), "schema": ["type": .string(type)],
        ]
    }

    /// `{kind}` lists exactly the plurals the route resolves (others are 404), so a client or a fuzzer
    /// generating from this document reaches real handlers instead of the unknown-kind 404.
    static func kindParam(_ kinds: [Kind]) -> JSONValue {
        [
            "name": "kind", "in": "path", "required": true, "description": "plural kind",
            "schema": ["type": "string", "enum": .array(kinds.map { .string($0.plural) })],
        ]
    }
    /// `/api/v1/{kind}`: every kind (project kinds list across projects).
    static let anyKindParam = kindParam(Kind.allCases)
    /// `/api/v1/{kind}/{name}`: kinds that are not project-scoped.
    static let clusterKindParam = kindParam(Kind.allCases.filter { $0.scope != .project })
    /// `/api/v1/projects/{project}/{kind}…`: kinds that are not cluster-scoped.
    static let projectKindParam = kindParam(Kind.allCases.filter { $0.scope != .cluster })
    static let nameParam = param("name", "path", "object name (percent-encode `/` in image names)")
    static let digestParam = param("digest", "path", "`sha256:<64 hex>`")
    static let imageNameParam = param("name", "path", "image (repository) name; percent-encode `/` (`library%2Fbusybox`)")
    static let tagParam = param("tag", "path", "image tag")
    static let projectParam = param("project", "path", "project name")
    static let managerParam = param("manager", "query", "field manager: the token's identity or a sub-name of it (`admin/tool`)")
    static let forceParam = param("force", "query", "take ownership of fields owned by other managers", type: "boolean")

    static func op(
        _ summary: String, params: [JSONValue] = [], body: String? = nil, bodyType: String = "application/json",
        ok: (String, JSONValue), also: [String: JSONValue] = [:], auth: Bool = true
    ) -> JSONValue {
        var responses = errors
        responses[ok.0] = ok.1
        responses.merge(also) { _, new in new }
        var o: [String: JSONValue] = [
            "summary": .string(summary), "parameters": .array(params), "responses": .object(responses),
        ]
        if let body {
            var content: [String: JSONValue] = [bodyType: ["schema": ref(body)]]
            if body == "Object" && bodyType == "application/merge-patch+json" {
                content[applyPatchContentType] = ["schema": ref("Object")]
            }
            o["requestBody"] = ["required": true, "content": .object(content)]
        }
        if !auth { o["security"] = [] }
        return .object(o)
    }

    /// OpenAPI links from a create (201) to the operations on the object it made, so a client or a stateful
    /// fuzzer can follow them: same kind (and project), the name the server answered.
    static func createdObjectLinks(scoped: Bool) -> JSONValue {
        let object = (scoped ? APIRoute.projectObject : APIRoute.clusterObject).template
        let history = (scoped ? APIRoute.projectObjectHistory : APIRoute.clusterObjectHistory).template
        var parameters: [String: JSONValue] = ["kind": "$request.path.kind", "name": "$response.body#/metadata/name"]
        if scoped { parameters["project"] = "$request.path.project" }
        var links: [String: JSONValue] = [:]
        for (name, path, method) in [
            ("Read", object, "get"), ("Replace", object, "put"), ("Patch", object, "patch"), ("Delete", object, "delete"),
            ("History", history, "get"),
        ] {
            links[name] = ["operationRef": .string(operationRef(path, method)), "parameters": .object(parameters)]
        }
        return .object(links)
    }

    /// `#/paths/<template as a JSON pointer token>/<method>`.
    static func operationRef(_ template: String, _ method: String) -> String {
        "#/paths/" + template.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
            + "/" + method
    }

    static func withLinks(_ response: JSONValue, _ links: JSONValue) -> JSONValue {
        var r = response
        r["links"] = links
        return r
    }

    static func collectionOps(scoped: Bool) -> JSONValue {
        let base: [JSONValue] = scoped ? [projectParam, projectKindParam] : [anyKindParam]
        let listParams =
            base + [
                param("labelSelector", "query", "e.g. `app=web,tier!=db,env in (a,b)`"),
                param("fieldSelector", "query", "e.g. `spec.nodeName=n1`"),
                param("limit", "query", "page size", type: "integer"),
                param("continue", "query", "token from the previous page's metadata.continue"),
                param("watch", "query", "stream changes as newline-delimited JSON", type: "boolean"),
                param("since", "query", "with watch: replay changes after this revision (410 if compacted)"),
            ]
        return [
            "get": op(
                scoped ? "List or watch a kind in a project" : "List or watch a kind (project kinds: across all projects)",
                params: listParams, ok: ("200", response("a List, or with watch=true a stream of WatchEvent lines", "List"))),
            "post": op(
                "Create an object", params: base + [managerParam], body: "Object",
                ok: ("201", withLinks(response("created", "Object"), createdObjectLinks(scoped: scoped)))),
        ]
    }

    static func objectOps(scoped: Bool) -> JSONValue {
        let base: [JSONValue] = (scoped ? [projectParam, projectKindParam] : [clusterKindParam]) + [nameParam]
        return [
            "get": op("Read an object", params: base, ok: ("200", response("the object", "Object"))),
            "put": op(
                "Replace an object (a body without status keeps the stored status; metadata.resourceVersion is a precondition)",
                params: base + [managerParam, forceParam], body: "Object", ok: ("200", response("updated", "Object"))),
            "patch": op(
                "JSON merge patch (RFC 7386), or server-side apply with Content-Type application/apply-patch+json",
                params: base + [managerParam, forceParam], body: "Object", bodyType: "application/merge-patch+json",
                ok: ("200", response("patched", "Object")),
                also: ["201": response("created (server-side apply of an object that did not exist)", "Object")]),
            "delete": op(
                "Delete an object (a Project that holds objects needs cascade=true). A Replica/Instance bound to a node "
                    + "is deleted gracefully: marked Terminating (metadata.deletionTimestamp) until its agent has stopped it",
                params: base + [
                    managerParam, param("cascade", "query", "delete a project with everything in it", type: "boolean"),
                    param("resourceVersion", "query", "precondition"),
                    param("force", "query", "delete a bound replica at once, without waiting for its agent", type: "boolean"),
                ],
                ok: ("200", response("the deleted object, or the replica marked Terminating", "Object"))),
        ]
    }

    static func historyOps(scoped: Bool) -> JSONValue {
        let base: [JSONValue] = (scoped ? [projectParam, projectKindParam] : [clusterKindParam]) + [nameParam]
        return [
            "get": op(
                "Every recorded change of an object: revision, time, manager, RFC 6902 patch",
                params: base + [param("limit", "query", "newest N", type: "integer")],
                ok: ("200", response("history", "History")))
        ]
    }

    /// The proxied operations' own 5xx: the node's agent registered but does not answer (no agent: 409).
    static let agentUnreachable: [String: JSONValue] = [
        "503": response("the node's agent is not reachable", "Error")
    ]

    /// Operations by route; `document()` renders them.
    static func operations(_ route: APIRoute) -> JSONValue {
        switch route {
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
        case .clusterCollection: collectionOps(scoped: false)
        case .clusterObject: objectOps(scoped: false)
        case .clusterObjectHistory: historyOps(scoped: false)
        case .projectCollection: collectionOps(scoped: true)
        case .projectObject: objectOps(scoped: true)
        case .projectObjectHistory: historyOps(scoped: true)
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
                                    "operationRef": .string(operationRef(APIRoute.token.template, "delete")),
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
        case .instanceConsole:
            [
                "get": op(
                    "An instance's serial console log, proxied to its node's agent; `tail=N` last lines, `follow=true` streams",
                    params: [
                        projectParam, nameParam, param("tail", "query", "last N lines", type: "integer"),
                        param("follow", "query", "keep streaming new output", type: "boolean"),
                    ],
                    ok: ("200", response("console text", "Binary", contentType: "text/plain")), also: agentUnreachable)
            ]
        case .replicaLogs:
            [
                "get": op(
                    "A replica's container output, proxied to its node's agent; `tail=N` last lines, `follow=true` streams",
                    params: [
                        projectParam, nameParam, param("tail", "query", "last N lines", type: "integer"),
                        param("follow", "query", "keep streaming new output", type: "boolean"),
                    ],
                    ok: ("200", response("log text", "Binary", contentType: "text/plain")), also: agentUnreachable)
            ]
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
                    ok: ("201", response("the Image, created", "Object")),
                    also: ["200": response("the Image, updated", "Object")]),
                "delete": op(
                    "Remove a tag (admin); blobs no Image refers to are collected once older than the GC grace",
                    params: [imageNameParam, tagParam, managerParam], ok: ("200", response("the Image", "Object"))),
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
        case .secretKeyRotation:
            [
                "post": op(
                    "Rotate the key that seals secret values at rest (admin): a new key, every secret re-encrypted "
                        + "under it, then the old key retired; reads keep working meanwhile (409 if a rotation runs)",
                    params: [managerParam], ok: ("200", response("the new key id and what was re-encrypted", "SecretKeyRotation")))
            ]
        }
    }

    static let schemas: JSONValue = [
        "AnyObject": ["type": "object", "additionalProperties": true],
        "Binary": ["type": "string", "format": "binary"],
        "Error": [
            "type": "object", "required": ["error"],
            "properties": [
                "error": [
                    "type": "object", "required": ["code", "message"],
                    "properties": ["code": ["type": "string"], "message": ["type": "string"], "field": ["type": "string"]],
                ]
            ],
        ],
        "Metadata": [
            "type": "object", "required": ["name"],
            "properties": [
                "name": ["type": "string"], "project": ["type": "string"],
                "labels": ["type": "object", "additionalProperties": ["type": "string"]],
                "annotations": ["type": "object", "additionalProperties": ["type": "string"]],
                "uid": ["type": "string", "readOnly": true], "resourceVersion": ["type": "string"],
                "createdAt": ["type": "string", "readOnly": true],
                "managedFields": ["type": "object", "readOnly": true, "additionalProperties": ["type": "string"]],
            ],
        ],
        "Object": [
            "type": "object", "required": ["metadata"],
            "properties": [
                "apiVersion": ["type": "string", "enum": ["kumo/v1"]],
                "kind": ["type": "string", "enum": .array(Kind.allCases.map { .string($0.rawValue) })],
                "metadata": ["$ref": "#/components/schemas/Metadata"],
                "spec": ["type": "object"], "status": ["type": "object"],
            ],
        ],
        "List": [
            "type": "object",
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string"],
                "metadata": ["type": "object", "properties": ["revision": ["type": "string"], "continue": ["type": "string"]]],
                "items": ["type": "array", "items": ["$ref": "#/components/schemas/Object"]],
            ],
        ],
        "WatchEvent": [
            "type": "object",
            "properties": [
                "type": ["type": "string", "enum": ["ADDED", "MODIFIED", "DELETED", "ERROR"]],
                "object": ["$ref": "#/components/schemas/Object"],
            ],
        ],
        "History": [
            "type": "object",
            "properties": [
                "kind": ["type": "string"], "project": ["type": "string"], "name": ["type": "string"],
                "items": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": [
                            "revision": ["type": "integer"], "time": ["type": "string"], "manager": ["type": "string"],
                            "operation": ["type": "string"], "patch": ["type": "array", "items": ["type": "object"]],
                            "forced": ["type": "array", "items": ["type": "object"]],
                        ],
                    ],
                ],
            ],
        ],
        "BackupRequest": [
            "type": "object", "additionalProperties": false,
            "properties": [
                "includeSecretsKey": ["type": "boolean"],
                "passphrase": ["type": "string", "minLength": .number(Double(BackupKeyEnvelope.minimumPassphraseLength))],
            ],
        ],
        "SecretKeyRotation": [
            "type": "object",
            "properties": [
                "activeKeyID": ["type": "string"], "previousKeyIDs": ["type": "array", "items": ["type": "string"]],
                "retiredKeyIDs": ["type": "array", "items": ["type": "string"]], "secrets": ["type": "integer"],
                "resealed": ["type": "integer"],
            ],
        ],
        "TokenRequest": [
            "type": "object", "required": ["role"],
            "properties": [
                "name": ["type": "string"], "project": ["type": "string", "description": "view and edit tokens"],
                "role": ["type": "string", "enum": ["view", "edit", "join"]],
                "ttlSeconds": [
                    "type": "integer", "description": "lifetime; join tokens default to 86400, project tokens to none",
                ],
            ],
        ],
        "BlobInfo": [
            "type": "object",
            "properties": ["digest": ["type": "string"], "size": ["type": "integer"], "created": ["type": "boolean"]],
        ],
        "Descriptor": [
            "type": "object", "required": ["mediaType", "digest", "size"],
            "properties": ["mediaType": ["type": "string"], "digest": ["type": "string"], "size": ["type": "integer"]],
        ],
        "OCIManifest": [
            "type": "object", "required": ["schemaVersion", "config", "layers"],
            "properties": [
                "schemaVersion": ["type": "integer"],
                "mediaType": ["type": "string", "enum": ["application/vnd.oci.image.manifest.v1+json"]],
                "config": ["$ref": "#/components/schemas/Descriptor"],
                "layers": ["type": "array", "items": ["$ref": "#/components/schemas/Descriptor"]],
            ],
        ],
        "JoinRequest": [
            "type": "object", "required": ["node"],
            "properties": [
                "node": ["type": "string"],
                "addresses": [
                    "type": "array", "items": ["type": "string"],
                    "description": "addresses of the agent's endpoint: the SANs of the certificate issued in the answer",
                ],
            ],
        ],
        "AuditList": [
            "type": "object",
            "properties": [
                "items": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": [
                            "time": ["type": "string"], "reason": ["type": "string"], "who": ["type": "string"],
                            "method": ["type": "string"], "path": ["type": "string"], "source": ["type": "string"],
                            "status": ["type": "integer"], "message": ["type": "string"],
                        ],
                    ],
                ]
            ],
        ],
        "LeaseRequest": [
            "type": "object",
            "properties": ["durationSeconds": ["type": "integer", "minimum": 1, "maximum": .number(Double(NodeLeases.durationRange.upperBound))]],
        ],
        "Lease": [
            "type": "object",
            "properties": [
                "node": ["type": "string"], "holder": ["type": "string"], "renewTime": ["type": "string"],
                "durationSeconds": ["type": "integer"], "revision": ["type": "string"],
            ],
        ],
        "Token": [
            "type": "object",
            "properties": [
                "name": ["type": "string"], "project": ["type": "string"], "role": ["type": "string"],
                "identity": ["type": "string"], "createdAt": ["type": "string"], "createdBy": ["type": "string"],
                "expiresAt": ["type": "string"], "lastUsedAt": ["type": "string"],
                "token": [
                    "type": "string",
                    "description": "only when created; join tokens read K10<sha256 of the cluster CA>::<secret>",
                ],
                "serverCredential": ["type": "string", "description": "join answers only"],
                "agentCertificate": ["type": "string", "description": "join answers only: PEM chain signed by the cluster CA"],
                "agentKey": ["type": "string", "description": "join answers only: PEM private key"],
            ],
        ],
        "TokenList": ["type": "object", "properties": ["items": ["type": "array", "items": ["$ref": "#/components/schemas/Token"]]]],
        "Version": ["type": "object", "properties": ["version": ["type": "string"], "apiVersion": ["type": "string"]]],
    ]

    public static func document() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for route in APIRoute.allCases { paths[route.template] = operations(route) }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Kumo API", "version": .string(KumoVersion.current),
                "description": "Kumo's control plane. Every request needs `Authorization: Bearer <token>` except /healthz and /readyz.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": schemas,
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
            "security": [["bearer": []]],
        ]
    }
}
