import KumoModel

/// Who writes, and how.
public struct WriteOptions: Sendable {
    /// The manager recorded as owner of the fields this write sets (the token's identity, or a sub-name of it).
    public var manager: String
    /// Take ownership of other managers' fields instead of failing with 409.
    public var force: Bool

    public init(manager: String, force: Bool = false) {
        self.manager = manager
        self.force = force
    }
}

/// An object as served: the stored JSON with `metadata.resourceVersion` set to the revision of its last change.
public struct StoredObject: Sendable {
    public var object: JSONValue
    public var revision: Int64
    /// False when a write found nothing to change (no new revision, no history record).
    public var changed: Bool

    public init(object: JSONValue, revision: Int64, changed: Bool = true) {
        self.object = object
        self.revision = revision
        self.changed = changed
    }
}

/// One page of a list.
public struct ListPage: Sendable {
    public var items: [JSONValue]
    /// Store revision the first page read was taken at.
    public var revision: Int64
    public var continueToken: String?
}

/// Filters of a list or watch.
public struct ListFilter: Sendable {
    public var labelSelector: LabelSelector?
    public var fieldSelector: FieldSelector?

    public init(labelSelector: LabelSelector? = nil, fieldSelector: FieldSelector? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    public func matches(_ object: JSONValue) -> Bool {
        if let labelSelector, !labelSelector.isEmpty {
            var labels: [String: String] = [:]
            for (k, v) in object["metadata"]?["labels"]?.objectValue ?? [:] { labels[k] = v.stringValue ?? "" }
            if !labelSelector.matches(labels) { return false }
        }
        if let fieldSelector, !fieldSelector.matches(object) { return false }
        return true
    }
}
