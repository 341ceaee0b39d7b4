import KumoModel

/// `{"error": {"code", "message", "field"}}` — the body of every error response.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
        public var field: String?
    }
    public var error: Detail

    public init(_ error: KumoError) {
        self.error = Detail(code: error.code.rawValue, message: error.message, field: error.field)
    }

    public var kumoError: KumoError {
        KumoError(KumoError.Code(rawValue: error.code), error.message, field: error.field)
    }
}

/// A list response: `{"apiVersion","kind":"List","metadata":{"revision","continue"},"items":[...]}`.
public struct ObjectList: Codable, Sendable {
    public struct ListMeta: Codable, Sendable {
        /// The store revision the list was read at; watch with `since=` this to follow changes.
        public var revision: String
        /// Pass as `continue=` to get the next page; absent on the last page.
        public var `continue`: String?
    }
    public var apiVersion: String
    public var kind: String
    public var metadata: ListMeta
    public var items: [JSONValue]
}

/// One line of a watch stream.
public struct WatchEventWire: Codable, Sendable {
    /// ADDED, MODIFIED, DELETED, or ERROR (then `object` is an error body and the stream ends).
    public var type: String
    public var object: JSONValue
}

/// One recorded change of an object.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public struct ForcedField: Codable, Sendable, Equatable {
        public var field: String
        public var previousOwner: String
        public init(field: String, previousOwner: String) {
            self.field = field
            self.previousOwner = previousOwner
        }
    }
    /// Store revision of the change.
    public var revision: Int64?
    /// RFC 3339 time.
    public var time: String
    public var manager: String
    /// create, update, patch, apply, delete
    public var operation: String
    /// RFC 6902 JSON Patch from the previous state to this one (`metadata.resourceVersion` and
    /// `metadata.managedFields` left out).
    public var patch: [JSONPatchOperation]
    /// Fields whose ownership `?force=true` took from another manager.
    public var forced: [ForcedField]?

    public init(
        revision: Int64? = nil, time: String, manager: String, operation: String, patch: [JSONPatchOperation],
        forced: [ForcedField]? = nil
    ) {
        self.revision = revision
        self.time = time
        self.manager = manager
        self.operation = operation
        self.patch = patch
        self.forced = forced
    }
}

public struct HistoryList: Codable, Sendable {
    public var kind: String
    public var project: String?
    public var name: String
    public var items: [HistoryEntry]
    public init(kind: String, project: String?, name: String, items: [HistoryEntry]) {
        self.kind = kind
        self.project = project
        self.name = name
        self.items = items
    }
}

public enum TokenRole: String, Codable, Sendable, CaseIterable {
    /// Project token: read the project (no secret values).
    case view
    /// Project token: read and write the project.
    case edit
    /// Join token: only exchanges itself for a node token (`POST /api/v1/join`); expires.
    case join
    /// Node token (identity `node/<name>`): what the node agent may do (DESIGN.md, Authorization).
    case node
}

/// `POST /api/v1/tokens` body: a project token (`project` + view|edit) or a join token (`role: join`).
public struct TokenRequest: Codable, Sendable {
    public var name: String?
    public var project: String?
    public var role: TokenRole
    /// Join tokens: lifetime (default 24 h).
    public var ttlSeconds: Int?

    public init(name: String? = nil, project: String? = nil, role: TokenRole, ttlSeconds: Int? = nil) {
        self.name = name
        self.project = project
        self.role = role
        self.ttlSeconds = ttlSeconds
    }
}

/// `POST /api/v1/join` body, sent with a join token: the node that wants a node token.
public struct JoinRequest: Codable, Sendable {
    public var node: String
    /// The addresses the agent's endpoint is reached at: the SANs of the certificate the server issues it.
    public var addresses: [String]?
    public init(node: String, addresses: [String]? = nil) {
        self.node = node
        self.addresses = addresses
    }
}

/// A token as listed (never with its secret) or as created (with `token` once).
public struct TokenInfo: Codable, Sendable {
    public var name: String
    public var project: String?
    public var role: TokenRole
    public var identity: String
    public var createdAt: String
    public var createdBy: String
    /// RFC 3339; join tokens only.
    public var expiresAt: String?
    /// Only in the response to creation: the bearer secret. It is not stored and cannot be shown again.
    public var token: String?
    /// Only in the answer to a join: the credential the server presents when it calls the agent (logs, state).
    public var serverCredential: String?
    /// Only in the answer to a join: the agent endpoint's certificate chain and key (PEM), signed by the cluster CA.
    public var agentCertificate: String?
    public var agentKey: String?
    /// Token id (its name): what `kumo token revoke` takes.
    public var id: String { name }
    /// When the server last accepted it (RFC 3339; nil: never, or not yet recorded).
    public var lastUsedAt: String?

    public init(
        name: String, project: String?, role: TokenRole, identity: String, createdAt: String, createdBy: String,
        expiresAt: String? = nil, token: String? = nil, serverCredential: String? = nil
    ) {
        self.name = name
        self.project = project
        self.role = role
        self.identity = identity
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.token = token
        self.serverCredential = serverCredential
    }
}

public struct TokenList: Codable, Sendable {
    public var items: [TokenInfo]
    public init(items: [TokenInfo]) { self.items = items }
}

public struct VersionInfo: Codable, Sendable {
    public var version: String
    public var apiVersion: String
    public init(version: String, apiVersion: String) {
        self.version = version
        self.apiVersion = apiVersion
    }
}

public enum KumoVersion {
    public static let current = "0.1.0"
}

/// Content type of a server-side apply request (`kumo apply`): the body is the applied object; fields this
/// manager applied before and left out now are removed, other managers' fields are kept.
public let applyPatchContentType = "application/apply-patch+json"
public let mergePatchContentType = "application/merge-patch+json"
