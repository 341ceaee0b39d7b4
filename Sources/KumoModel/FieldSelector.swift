/// A field selector: comma-separated `path=value`, `path==value` or `path!=value` requirements, all of
/// which must hold, e.g. `spec.nodeName=n1,status.phase!=Running`.
///
/// The path is dotted into the object (`metadata.name`). The field's string form is compared: strings as
/// they are, numbers as serialized (`3`, `0.5`), booleans `true`/`false`, absent or null as `""` (so
/// `spec.nodeName=` selects unbound objects), arrays and objects as their compact JSON.
/// In values, `\,` `\=` and `\\` stand for `,` `=` and `\`. Whitespace around paths and values is ignored.
public struct FieldSelector: Sendable, Hashable, CustomStringConvertible {
    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        public enum Operator: String, Sendable, Hashable {
            case equals = "="
            case notEquals = "!="
        }

        public var field: String
        public var op: Operator
        public var value: String

        public init(field: String, op: Operator, value: String) {
            self.field = field
            self.op = op
            self.value = value
        }

        public func matches(_ object: JSONValue) -> Bool {
            let actual = FieldSelector.stringForm(object.value(atPath: field))
            return (actual == value) == (op == .equals)
        }

        public var description: String { field + op.rawValue + FieldSelector.escape(value) }
    }

    public private(set) var requirements: [Requirement]

    /// The selector that matches everything.
    public init() {
        requirements = []
    }

    public init(requirements: [Requirement]) {
        self.requirements = requirements
    }

    public init(parsing text: String) throws(KumoError) {
        do {
            requirements = try FieldSelector.parse(text)
        } catch {
            throw KumoError(.badRequest, "invalid field selector \"\(text)\": \(error.reason)", field: "fieldSelector")
        }
    }

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { $0.matches(object) }
    }

    /// The canonical text form, which parses back to an equal selector.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }

    /// The string a field's value is compared as.
    public static func stringForm(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let s)?: s
        case .bool(let b)?: b ? "true" : "false"
        case let v?: v.jsonString
        }
    }

    /// Escapes `\`, `,` and `=` in a value.
    public static func escape(_ value: String) -> String {
        guard
            value.utf8.contains(where: {
                $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "=")
            })
        else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            if scalar == "\\" || scalar == "," || scalar == "=" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    // MARK: - Parsing

    private static func parse(_ text: String) throws(SelectorSyntaxError) -> [Requirement] {
        let bytes = Array(text.utf8)
        if bytes.allSatisfy(isSpace) { return [] }
        // Split on unescaped commas.
        var terms: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if bytes[i] == UInt8(ascii: ",") {
                terms.append(bytes[start..<i])
                start = i + 1
            }
            i += 1
        }
        terms.append(bytes[start..<min(i, bytes.count)])
        var requirements: [Requirement] = []
        for term in terms {
            requirements.append(try requirement(term))
        }
        return requirements
    }

    private static func requirement(_ term: ArraySlice<UInt8>) throws(SelectorSyntaxError) -> Requirement {
        let termText = String(decoding: term, as: UTF8.self)
        guard let eq = term.firstIndex(of: UInt8(ascii: "=")) else {
            if trim(term).isEmpty { throw SelectorSyntaxError(reason: "empty requirement") }
            throw SelectorSyntaxError(
                reason: "requirement \"\(trimmed(termText))\" has no operator ('=', '==' or '!=')")
        }
        var op = Requirement.Operator.equals
        var fieldEnd = eq
        var valueStart = eq + 1
        if eq > term.startIndex, term[eq - 1] == UInt8(ascii: "!") {
            op = .notEquals
            fieldEnd = eq - 1
        } else if valueStart < term.endIndex, term[valueStart] == UInt8(ascii: "=") {
            valueStart += 1
        }
        let fieldBytes = trim(term[term.startIndex..<fieldEnd])
        let field = String(decoding: fieldBytes, as: UTF8.self)
        if let reason = validateField(fieldBytes) {
            throw SelectorSyntaxError(reason: "invalid field path \"\(field)\": \(reason)")
        }
        let value = try unescape(trim(term[valueStart..<term.endIndex]))
        return Requirement(field: field, op: op, value: value)
    }

    /// Dot-separated non-empty segments without whitespace, `!`, `=`, `,` or `\`.
    private static func validateField(_ bytes: ArraySlice<UInt8>) -> String? {
        if bytes.isEmpty { return "must not be empty" }
        for segment in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if segment.isEmpty { return "must be dot-separated non-empty names" }
            if segment.contains(where: { isSpace($0) || $0 == UInt8(ascii: "!") || $0 == UInt8(ascii: "\\") }) {
                return "must not contain whitespace, '!' or '\\'"
            }
        }
        return nil
    }

    private static func unescape(_ bytes: ArraySlice<UInt8>) throws(SelectorSyntaxError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                let n = i + 1
                guard n < bytes.endIndex,
                    bytes[n] == UInt8(ascii: "\\") || bytes[n] == UInt8(ascii: ",") || bytes[n] == UInt8(ascii: "=")
                else {
                    throw SelectorSyntaxError(reason: "invalid escape in value (only \\\\, \\, and \\= are allowed)")
                }
                out.append(bytes[n])
                i += 2
                continue
            }
            if c == UInt8(ascii: "=") {
                throw SelectorSyntaxError(reason: "unescaped '=' in value (write \\=)")
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    private static func trim(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        return s
    }

    private static func trimmed(_ s: String) -> String {
        String(decoding: trim(Array(s.utf8)[...]), as: UTF8.self)
    }
}
