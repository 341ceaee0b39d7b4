/// JSON Pointer (RFC 6901): `""` is the whole document, `/a/0/b~1c` is member `a`, element 0, member `b/c`.
public enum JSONPointer {
    /// Escapes one reference token: `~` → `~0`, `/` → `~1`.
    public static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
            return token
        }
        var out = ""
        out.reserveCapacity(token.utf8.count + 4)
        for scalar in token.unicodeScalars {
            switch scalar {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Unescapes one reference token: `~1` → `/`, `~0` → `~` (so `~01` is `~1`). A `~` followed by anything
    /// else is an error.
    public static func unescape(_ token: String) throws(KumoError) -> String {
        guard token.utf8.contains(UInt8(ascii: "~")) else { return token }
        var out = ""
        out.reserveCapacity(token.utf8.count)
        var iterator = token.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "~" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch iterator.next() {
            case "0"?: out += "~"
            case "1"?: out += "/"
            default:
                throw KumoError(.invalid, "invalid JSON pointer token \"\(token)\": '~' must be followed by '0' or '1'")
            }
        }
        return out
    }

    /// Splits a pointer into unescaped reference tokens; `""` is `[]`. A non-empty pointer must start with `/`.
    public static func parse(_ pointer: String) throws(KumoError) -> [String] {
        if pointer.isEmpty { return [] }
        guard pointer.utf8.first == UInt8(ascii: "/") else {
            throw KumoError(.invalid, "invalid JSON pointer \"\(pointer)\": must be empty or start with '/'")
        }
        var tokens: [String] = []
        for part in pointer.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            do {
                tokens.append(try unescape(String(decoding: part, as: UTF8.self)))
            } catch {
                throw KumoError(.invalid, "invalid JSON pointer \"\(pointer)\": '~' must be followed by '0' or '1'")
            }
        }
        return tokens
    }

    /// Joins reference tokens into a pointer, escaping each: `["a", "b/c"]` → `/a/b~1c`.
    public static func format(_ tokens: some Sequence<String>) -> String {
        var out = ""
        for token in tokens {
            out += "/"
            out += escape(token)
        }
        return out
    }

    /// Appends one token to a pointer: `appending("b/c", to: "/a")` → `/a/b~1c`.
    public static func appending(_ token: String, to pointer: String) -> String {
        pointer + "/" + escape(token)
    }

    /// The array index a token names, if it is one: `0` or digits without a leading zero (RFC 6901 section 4).
    static func arrayIndex(_ token: String) -> Int? {
        let bytes = token.utf8
        guard let first = bytes.first, bytes.count <= 18 else { return nil }
        if first == UInt8(ascii: "0") { return bytes.count == 1 ? 0 : nil }
        var value = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(b - UInt8(ascii: "0"))
        }
        return value
    }
}
