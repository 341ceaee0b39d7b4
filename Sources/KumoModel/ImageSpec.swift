/// A repository of image content (cluster-scoped); its name is the repository name (`library/nginx`).
public typealias Image = Object<ImageSpec>

public struct ImageSpec: ResourceSpec {
    public typealias Status = ImageStatus
    public static var kind: Kind { .image }

    /// Tag → digest (`sha256:<64 lower case hex>`).
    public var tags: [String: String]?

    public init(tags: [String: String]? = nil) {
        self.tags = tags
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        for tag in (tags ?? [:]).keys.sorted() {
            if let why = Names.validateImageTag(tag) {
                errors.append(FieldError("\(path).tags.\(tag)", "invalid tag: \(why)"))
            } else if let why = Names.validateDigest(tags![tag]!) {
                errors.append(FieldError("\(path).tags.\(tag)", "invalid digest: \(why)"))
            }
        }
        return errors
    }
}

public struct ImageStatus: Codable, Sendable, Equatable {
    public var sizeBytes: Int64?
    public var layers: Int?
    /// Digests of the stored content.
    public var digests: [String]?

    public init(sizeBytes: Int64? = nil, layers: Int? = nil, digests: [String]? = nil) {
        self.sizeBytes = sizeBytes
        self.layers = layers
        self.digests = digests
    }
}
