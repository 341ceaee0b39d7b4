import Logging

extension Logger {
    /// A copy of this logger tagged with the component it is handed to.
    public func with(label: String) -> Logger {
        var l = self
        l[metadataKey: "component"] = .string(label)
        return l
    }
}
