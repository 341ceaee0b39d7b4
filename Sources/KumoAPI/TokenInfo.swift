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
