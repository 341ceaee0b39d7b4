/// A parsed image reference: `name`, `name:tag`, `name@sha256:<64 hex>` or `name:tag@sha256:<64 hex>`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The repository name (`library/nginx`), which is also the name of the Image object.
    public var name: String
    /// nil for a bare name (meaning `latest`) or a digest-only reference.
    public var tag: String?
    /// `sha256:<64 hex>`; when present it identifies the content and the tag is informational.
    public var digest: String?

    public init(name: String, tag: String? = nil, digest: String? = nil) {
        self.name = name
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String) throws(KumoError) {
        switch Self.parse(text) {
        case .success(let r): self = r
        case .failure(let reason):
            throw KumoError(.invalid, "invalid image reference \"\(text)\": \(reason.text)")
        }
    }

    /// The tag to resolve when there is no digest: the tag, or `latest` for a bare name.
    public var tagOrLatest: String { tag ?? "latest" }

    public var description: String {
        var s = name
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest }
        return s
    }

    struct Reason: Error { var text: String }

    static func parse(_ text: String) -> Result<ImageReference, Reason> {
        if text.isEmpty { return .failure(Reason(text: "must not be empty")) }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            if let why = Names.validateDigest(d) { return .failure(Reason(text: "digest \(why)")) }
            digest = d
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":") {
            let t = String(rest[rest.index(after: colon)...])
            if let why = Names.validateImageTag(t) { return .failure(Reason(text: "tag \(why)")) }
            tag = t
            rest = rest[..<colon]
        }
        let name = String(rest)
        if let why = Names.validateImageName(name) { return .failure(Reason(text: "name \(why)")) }
        return .success(ImageReference(name: name, tag: tag, digest: digest))
    }
}
