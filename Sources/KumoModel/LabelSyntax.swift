/// The syntax of label keys and values (the Kubernetes rules).
///
/// - key: `[prefix/]name`; `name` is 1–63 characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`; the
///   optional `prefix` is a DNS subdomain (≤ 253 characters, dot-separated lowercase RFC 1123 labels).
/// - value: empty, or 1–63 characters with the same rule as a key's name.
///
/// Validators return nil when the input is fine, else the reason it is not.
public enum LabelSyntax {
    public static let maxNameLength = 63
    public static let maxPrefixLength = 253

    public static func validateKey(_ key: String) -> String? {
        let bytes = Array(key.utf8)
        if bytes.isEmpty { return "key must not be empty" }
        let slashes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "/") }
        if slashes.count > 1 { return "key must be a name with an optional prefix and '/' (at most one '/')" }
        var name = bytes[...]
        if let slash = slashes.first {
            let prefix = bytes[..<slash]
            name = bytes[(slash + 1)...]
            if prefix.isEmpty { return "key prefix must not be empty" }
            if let reason = validateDNSSubdomain(prefix) { return "key prefix " + reason }
        }
        if name.isEmpty { return "key name must not be empty" }
        if let reason = validateName(name) { return "key name " + reason }
        return nil
    }

    public static func validateValue(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        if bytes.isEmpty { return nil }
        if let reason = validateName(bytes[...]) { return "value " + reason }
        return nil
    }

    /// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
    private static func validateName(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let first = bytes.first, let last = bytes.last else { return "must not be empty" }
        if bytes.count > maxNameLength { return "must be no more than \(maxNameLength) characters" }
        let ok =
            isAlphanumeric(first) && isAlphanumeric(last)
            && bytes.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }
        if !ok {
            return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                + "alphanumeric character"
        }
        return nil
    }

    /// Lowercase RFC 1123 subdomain: labels `[a-z0-9]([-a-z0-9]*[a-z0-9])?` of ≤ 63 joined by dots, ≤ 253.
    private static func validateDNSSubdomain(_ bytes: ArraySlice<UInt8>) -> String? {
        if bytes.count > maxPrefixLength { return "must be no more than \(maxPrefixLength) characters" }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            let ok =
                !label.isEmpty && label.count <= 63 && isLowerAlphanumeric(label.first!)
                && isLowerAlphanumeric(label.last!)
                && label.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
            if !ok {
                return "must be a lowercase RFC 1123 subdomain (labels of lowercase alphanumeric characters or "
                    + "'-', starting and ending with an alphanumeric character, separated by '.')"
            }
        }
        return nil
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    private static func isLowerAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}
