/// Syntax checks used by the kinds' `validate(path:metadata:)` (internal).
enum SpecValidation {
    /// A dotted-quad IPv4 address without leading zeros: `10.244.1.5`.
    static func parseIPv4(_ s: String) -> UInt32? {
        let parts = s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(Names.isDigit) else { return nil }
            if p.count > 1 && p.first == UInt8(ascii: "0") { return nil }
            guard let octet = UInt32(Substring(p)), octet <= 255 else { return nil }
            result = result << 8 | octet
        }
        return result
    }

    static func isIPv4(_ s: String) -> Bool { parseIPv4(s) != nil }

    /// An IPv4 CIDR with no host bits set: `10.244.1.0/24`. nil if valid, else the reason.
    static func cidrReason(_ s: String) -> String? {
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let address = parseIPv4(String(parts[0])),
            !parts[1].isEmpty, parts[1].count <= 2, parts[1].utf8.allSatisfy(Names.isDigit),
            let bits = Int(parts[1]), bits <= 32
        else {
            return "must be an IPv4 CIDR like 10.244.1.0/24"
        }
        let hostMask: UInt32 = bits == 32 ? 0 : UInt32.max >> UInt32(bits)
        if address & hostMask != 0 { return "must not have host bits set (like 10.244.1.0/24)" }
        return nil
    }

    /// Six colon-separated pairs of hex digits: `02:6b:00:00:00:01`.
    static func isMAC(_ s: String) -> Bool {
        let parts = s.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        return parts.count == 6
            && parts.allSatisfy { p in
                p.count == 2
                    && p.allSatisfy {
                        Names.isLowerHex($0) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F"))
                    }
            }
    }

    /// Padded standard base64 (`A-Z a-z 0-9 + /`, `=` only as final padding).
    static func isBase64(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count % 4 == 0 else { return false }
        var padding = 0
        for (i, b) in bytes.enumerated() {
            if b == UInt8(ascii: "=") {
                guard i >= bytes.count - 2 else { return false }
                padding += 1
            } else {
                guard padding == 0, Names.isAlnum(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") else {
                    return false
                }
            }
        }
        return true
    }

    /// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isEnvName(_ s: String) -> Bool {
        guard let first = s.utf8.first, !Names.isDigit(first) else { return false }
        return s.utf8.allSatisfy { Names.isAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    /// A secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, `..` or starting with `..`.
    static func secretKeyReason(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        if s == "." || s == ".." { return "must not be '.' or '..'" }
        // Keys become file names in the container; `..`-prefixed names are the atomic writer's own.
        if s.hasPrefix("..") { return "must not start with '..'" }
        let ok = s.utf8.allSatisfy {
            Names.isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
        }
        return ok ? nil : "must consist of letters, digits, '-', '.' and '_'"
    }

    static func isPort(_ p: Int) -> Bool { (1...65535).contains(p) }
}
