/// Metadata every object carries. `uid`, `resourceVersion`, `createdAt` and `managedFields` are set by the
/// server; clients may send `resourceVersion` as a precondition.
public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String
    public var project: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var uid: String?
    /// The store revision of the object's last change (opaque to clients).
    public var resourceVersion: String?
    /// RFC 3339 time of creation.
    public var createdAt: String?
    /// Owner (manager) of each owned field, keyed by field path: `metadata.labels.<key>`,
    /// `metadata.annotations.<key>`, `spec.<field>`, `status.<field>`.
    public var managedFields: [String: String]?
    /// RFC 3339 time a graceful deletion was requested (set by the server). A bound Replica/Instance is first
    /// marked like this (status phase Terminating) so load balancers can drain it; its node's agent stops it
    /// and then removes the object.
    public var deletionTimestamp: String?

    public init(
        name: String, project: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.project = project
        self.labels = labels
        self.annotations = annotations
    }
}
