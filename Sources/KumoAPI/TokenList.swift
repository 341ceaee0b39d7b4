public struct TokenList: Codable, Sendable {
    public var items: [TokenInfo]
    public init(items: [TokenInfo]) { self.items = items }
}
