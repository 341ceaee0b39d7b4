public struct VersionInfo: Codable, Sendable {
    public var version: String
    public var apiVersion: String
    public init(version: String, apiVersion: String) {
        self.version = version
        self.apiVersion = apiVersion
    }
}
