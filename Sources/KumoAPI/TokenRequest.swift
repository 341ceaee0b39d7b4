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
