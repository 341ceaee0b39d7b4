import KumoModel

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
