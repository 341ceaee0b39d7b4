/// Checks of `metadata` shared by every kind: the name (per kind), the project, label and annotation keys
/// and values (Kubernetes syntax). Kept internal so the selector code can have its own parser.
enum MetadataValidation {
    /// Total size of all annotation keys and values.
    static let maxAnnotationBytes = 256 * 1024

    static func validate(_ meta: ObjectMeta, kind: Kind) -> [FieldError] {
        var errors: [FieldError] = []
        if let why = nameReason(meta.name, kind: kind) { errors.append(FieldError("metadata.name", why)) }
        if let project = meta.project {
            if kind.scope == .cluster {
                errors.append(FieldError("metadata.project", "must not be set: \(kind) is cluster-scoped"))
            } else if let why = Names.validateDNSLabel(project) {
                errors.append(FieldError("metadata.project", why))
            }
        }
        errors += validateLabels(meta.labels, path: "metadata.labels")
        if let annotations = meta.annotations {
            var total = 0
            for key in annotations.keys.sorted() {
                total += key.utf8.count + annotations[key]!.utf8.count
                if let why = labelKeyReason(key) {
                    errors.append(FieldError("metadata.annotations.\(key)", why))
                }
            }
            if total > maxAnnotationBytes {
                errors.append(
                    FieldError("metadata.annotations", "total size \(total) bytes exceeds \(maxAnnotationBytes) bytes"))
            }
        }
        return errors
    }

    /// Object names: image names for Images, DNS subdomains for Events, DNS labels for the rest.
    static func nameReason(_ name: String, kind: Kind) -> String? {
        switch kind {
        case .image: Names.validateImageName(name)
        case .event: Names.validateDNSSubdomain(name)
        default: Names.validateDNSLabel(name)
        }
    }

    /// Keys and values of a label map (labels, selectors, node selectors), in key order.
    static func validateLabels(_ labels: [String: String]?, path: String) -> [FieldError] {
        guard let labels else { return [] }
        var errors: [FieldError] = []
        for key in labels.keys.sorted() {
            if let why = labelKeyReason(key) {
                errors.append(FieldError("\(path).\(key)", "invalid key: \(why)"))
            } else if let why = labelValueReason(labels[key]!) {
                errors.append(FieldError("\(path).\(key)", "invalid value \"\(labels[key]!)\": \(why)"))
            }
        }
        return errors
    }

    /// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
    /// characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
    static func labelKeyReason(_ key: String) -> String? {
        if key.isEmpty { return "must not be empty" }
        let parts = key.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 2, omittingEmptySubsequences: false)
        let name: Substring.UTF8View
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = String(Substring(parts[0]))
            if let why = Names.validateDNSSubdomain(prefix) { return "prefix \"\(prefix)\" \(why)" }
            name = parts[1]
        default:
            return "must be a name with an optional DNS subdomain prefix and '/', like example.com/name"
        }
        if name.isEmpty { return "name part must not be empty" }
        if name.count > 63 { return "name part must be no more than 63 characters" }
        if !isQualifiedName(name) {
            return "name part must consist of letters, digits, '-', '_' and '.', "
                + "and start and end with a letter or digit"
        }
        return nil
    }

    /// A label value: empty, or at most 63 characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
    static func labelValueReason(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > 63 { return "must be no more than 63 characters" }
        if !isQualifiedName(value.utf8[...]) {
            return "must consist of letters, digits, '-', '_' and '.', and start and end with a letter or digit"
        }
        return nil
    }

    private static func isQualifiedName(_ bytes: Substring.UTF8View) -> Bool {
        guard let first = bytes.first, let last = bytes.last, Names.isAlnum(first), Names.isAlnum(last) else {
            return false
        }
        return bytes.allSatisfy {
            Names.isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }
}
