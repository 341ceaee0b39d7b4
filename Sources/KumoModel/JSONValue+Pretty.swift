/// Indented JSON for people (the CLI's `-o json`, `~/.kumo/config`, a bundle's `config.json`).
///
/// - Non-empty objects and arrays open a line per member, indented two spaces per level; members are separated
///   by `,` at the end of the line and object members written `"key": value`.
/// - Object keys are sorted bytewise on their UTF-8, as in `serialized()`, so equal values give equal text.
/// - Empty objects and arrays (`{}`, `[]`), strings, numbers, booleans and null are written exactly as
///   `serialized()` writes them (no trailing newline anywhere).
extension JSONValue {
    public func prettySerialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        appendPretty(to: &out, depth: 0)
        return out
    }

    /// `prettySerialized()` as a `String`.
    public var prettyString: String {
        String(decoding: prettySerialized(), as: UTF8.self)
    }

    private func appendPretty(to out: inout [UInt8], depth: Int) {
        switch self {
        case .object(let o) where !o.isEmpty:
            out.append(UInt8(ascii: "{"))
            var order = Array(o.indices)
            order.sort { JSONWriter.utf8Less(o.keys[$0], o.keys[$1]) }
            for (n, index) in order.enumerated() {
                Self.appendMemberStart(first: n == 0, depth: depth + 1, to: &out)
                JSONWriter.appendString(o.keys[index], to: &out)
                out.append(UInt8(ascii: ":"))
                out.append(UInt8(ascii: " "))
                o.values[index].appendPretty(to: &out, depth: depth + 1)
            }
            Self.appendNewline(depth: depth, to: &out)
            out.append(UInt8(ascii: "}"))
        case .array(let a) where !a.isEmpty:
            out.append(UInt8(ascii: "["))
            for (n, element) in a.enumerated() {
                Self.appendMemberStart(first: n == 0, depth: depth + 1, to: &out)
                element.appendPretty(to: &out, depth: depth + 1)
            }
            Self.appendNewline(depth: depth, to: &out)
            out.append(UInt8(ascii: "]"))
        default:
            serialized(into: &out)
        }
    }

    /// `\n` (after a `,` unless first) and the indentation of a member at `depth`.
    private static func appendMemberStart(first: Bool, depth: Int, to out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        appendNewline(depth: depth, to: &out)
    }

    /// `\n` and the indentation of `depth` levels.
    private static func appendNewline(depth: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }
}
