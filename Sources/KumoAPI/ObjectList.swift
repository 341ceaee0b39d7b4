import KumoModel

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
