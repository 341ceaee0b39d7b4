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
