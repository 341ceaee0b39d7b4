import KumoModel

/// One line of a watch stream.
public struct WatchEventWire: Codable, Sendable {
    /// ADDED, MODIFIED, DELETED, or ERROR (then `object` is an error body and the stream ends).
    public var type: String
    public var object: JSONValue
}
