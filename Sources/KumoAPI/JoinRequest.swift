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
