/// Name syntax checks. Each returns nil when the name is valid, otherwise the reason it is not (a phrase
/// that reads after the field name: "metadata.name: must be no more than 63 characters").
public enum Names {
    /// A DNS-1123 label: 1–63 characters of `[a-z0-9-]`, starting and ending with a letter or digit.
    /// The name of every kind except Image and Event, and of projects and nodes wherever they are referenced.
    public static func validateDNSLabel(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        if !isDNSLabel(s.utf8[...]) {
            return "must consist of lower case letters, digits and '-', and start and end with a letter or digit"
        }
        return nil
    }

    /// A DNS-1123 subdomain: at most 253 characters of DNS labels joined by `.` (Event names).
    public static func validateDNSSubdomain(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        for label in s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if label.isEmpty || label.count > 63 || !isDNSLabel(label) {
                return "must be lower case labels of letters, digits and '-' separated by '.', "
                    + "each starting and ending with a letter or digit"
            }
        }
        return nil
    }

    /// An image (repository) name: components `[a-z0-9]+([._-][a-z0-9]+)*` joined by `/`, at most 255
    /// characters (`nginx`, `library/nginx`, `team/web.frontend`). The name of Image objects.
    public static func validateImageName(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 255 { return "must be no more than 255 characters" }
        for component in s.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if !isImageNameComponent(component) {
                return "must be lower case path components like \"library/nginx\", each of letters and digits "
                    + "separated by single '.', '_' or '-'"
            }
        }
        return nil
    }

    /// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func validateImageTag(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 128 { return "must be no more than 128 characters" }
        var first = true
        for b in s.utf8 {
            let ok =
                isAlnum(b) || b == UInt8(ascii: "_") || (!first && (b == UInt8(ascii: ".") || b == UInt8(ascii: "-")))
            if !ok {
                return "must consist of letters, digits, '_', '.' and '-', and not start with '.' or '-'"
            }
            first = false
        }
        return nil
    }

    /// A content digest: `sha256:` followed by 64 lower case hex digits.
    public static func validateDigest(_ s: String) -> String? {
        let prefix = "sha256:"
        guard s.hasPrefix(prefix) else { return "must be \"sha256:\" followed by 64 lower case hex digits" }
        let hex = s.utf8.dropFirst(prefix.utf8.count)
        guard hex.count == 64, hex.allSatisfy(isLowerHex) else {
            return "must be \"sha256:\" followed by 64 lower case hex digits"
        }
        return nil
    }

    /// An image reference: `name`, `name:tag` or `name@sha256:<64 hex>` (also `name:tag@sha256:…`, where the
    /// digest wins). A bare name means tag `latest`.
    public static func validateImageReference(_ s: String) -> String? {
        switch ImageReference.parse(s) {
        case .success: nil
        case .failure(let reason): reason.text
        }
    }

    // MARK: - Byte-level helpers

    static func isAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || isDigit(b)
    }

    static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || isDigit(b)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    static func isLowerHex(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f"))
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (length is checked by the caller).
    static func isDNSLabel(_ bytes: Substring.UTF8View) -> Bool {
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else {
            return false
        }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+([._-][a-z0-9]+)*`
    static func isImageNameComponent(_ bytes: Substring.UTF8View) -> Bool {
        var previousWasSeparator = true  // the component must start with an alphanumeric
        for b in bytes {
            if isLowerAlnum(b) {
                previousWasSeparator = false
            } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") {
                if previousWasSeparator { return false }
                previousWasSeparator = true
            } else {
                return false
            }
        }
        return !previousWasSeparator
    }
}
