/// A label selector in the Kubernetes syntax: comma-separated requirements, all of which must hold.
///
/// | requirement | holds when |
/// |---|---|
/// | `a=b`, `a==b` | label `a` is present with value `b` (`a=` matches an empty value) |
/// | `a!=b` | label `a` is absent or its value is not `b` |
/// | `a in (x,y)` | label `a` is present with value `x` or `y` |
/// | `a notin (x,y)` | label `a` is absent or its value is neither |
/// | `a` | label `a` is present |
/// | `!a` | label `a` is absent |
///
/// Whitespace around tokens is ignored. The empty selector matches everything. Requirements are kept sorted
/// by key, and value sets sorted and deduplicated, so equal selectors compare equal and print the same.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        public enum Operator: String, Sendable, Hashable {
            case equals = "="
            case notEquals = "!="
            case `in` = "in"
            case notIn = "notin"
            case exists = "exists"
            case doesNotExist = "!"
        }

        public var key: String
        public var op: Operator
        /// One value for `=`/`!=`, one or more for `in`/`notin` (sorted, unique), none for `exists`/`!`.
        public var values: [String]

        public init(key: String, op: Operator, values: [String] = []) {
            self.key = key
            self.op = op
            self.values = Array(Set(values)).sorted()
        }

        public func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch op {
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .equals, .in:
                guard let value else { return false }
                return values.contains(value)
            case .notEquals, .notIn:
                guard let value else { return true }
                return !values.contains(value)
            }
        }

        public var description: String {
            switch op {
            case .exists: key
            case .doesNotExist: "!" + key
            case .equals: key + "=" + (values.first ?? "")
            case .notEquals: key + "!=" + (values.first ?? "")
            case .in: key + " in (" + values.joined(separator: ",") + ")"
            case .notIn: key + " notin (" + values.joined(separator: ",") + ")"
            }
        }
    }

    public private(set) var requirements: [Requirement]

    /// The selector that matches everything.
    public init() {
        requirements = []
    }

    public init(requirements: [Requirement]) {
        self.requirements = requirements.sorted(by: LabelSelector.order)
    }

    /// `key=value` for each entry (the `matchLabels` form).
    public init(matchLabels: [String: String]) {
        self.init(requirements: matchLabels.map { Requirement(key: $0.key, op: .equals, values: [$0.value]) })
    }

    public init(parsing text: String) throws(KumoError) {
        var parser = SelectorParser(text)
        do {
            self.init(requirements: try parser.parse())
        } catch {
            throw KumoError(.badRequest, "invalid label selector \"\(text)\": \(error.reason)", field: "labelSelector")
        }
    }

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    /// The canonical text form, which parses back to an equal selector.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }

    private static func order(_ a: Requirement, _ b: Requirement) -> Bool {
        if a.key != b.key { return a.key < b.key }
        if a.op != b.op { return a.op.rawValue < b.op.rawValue }
        return a.values.lexicographicallyPrecedes(b.values)
    }
}

/// Why a selector did not parse.
struct SelectorSyntaxError: Error {
    var reason: String
}

/// Tokenizer and recursive-descent parser for label selectors.
private struct SelectorParser {
    enum Token: Equatable {
        case identifier(String)
        case not  // !
        case equals  // = or ==
        case notEquals  // !=
        case open  // (
        case close  // )
        case comma
        case end

        var text: String {
            switch self {
            case .identifier(let s): "'\(s)'"
            case .not: "'!'"
            case .equals: "'='"
            case .notEquals: "'!='"
            case .open: "'('"
            case .close: "')'"
            case .comma: "','"
            case .end: "end of selector"
            }
        }
    }

    private let bytes: [UInt8]
    private var pos = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func parse() throws(SelectorSyntaxError) -> [LabelSelector.Requirement] {
        var requirements: [LabelSelector.Requirement] = []
        if peek() == .end { return [] }
        while true {
            requirements.append(try requirement())
            switch next() {
            case .end: return requirements
            case .comma:
                if peek() == .end { throw SelectorSyntaxError(reason: "expected a requirement after ','") }
            case let t: throw SelectorSyntaxError(reason: "expected ',' or end of selector but found \(t.text)")
            }
        }
    }

    private mutating func requirement() throws(SelectorSyntaxError) -> LabelSelector.Requirement {
        switch next() {
        case .not:
            guard case .identifier(let key) = next() else {
                throw SelectorSyntaxError(reason: "expected a label key after '!'")
            }
            try validate(key: key)
            return .init(key: key, op: .doesNotExist)
        case .identifier(let key):
            try validate(key: key)
            switch peek() {
            case .end, .comma:
                return .init(key: key, op: .exists)
            case .equals, .notEquals:
                let op: LabelSelector.Requirement.Operator = next() == .equals ? .equals : .notEquals
                var value = ""
                if case .identifier(let v) = peek() {
                    _ = next()
                    value = v
                }
                try validate(value: value)
                return .init(key: key, op: op, values: [value])
            case .identifier("in"), .identifier("notin"):
                let op: LabelSelector.Requirement.Operator = next() == .identifier("in") ? .in : .notIn
                return .init(key: key, op: op, values: try valueSet(for: op))
            case let t:
                throw SelectorSyntaxError(
                    reason: "expected '=', '==', '!=', 'in', 'notin', ',' or end of selector after key '\(key)' "
                        + "but found \(t.text)")
            }
        case let t:
            throw SelectorSyntaxError(reason: "expected a label key or '!' but found \(t.text)")
        }
    }

    /// `( value [, value]* )`
    private mutating func valueSet(for op: LabelSelector.Requirement.Operator) throws(SelectorSyntaxError)
        -> [String]
    {
        guard next() == .open else { throw SelectorSyntaxError(reason: "expected '(' after '\(op.rawValue)'") }
        var values: [String] = []
        while true {
            switch next() {
            case .identifier(let v):
                try validate(value: v)
                values.append(v)
            case .close where values.isEmpty:
                throw SelectorSyntaxError(reason: "the value set of '\(op.rawValue)' must not be empty")
            case let t:
                throw SelectorSyntaxError(reason: "expected a value but found \(t.text)")
            }
            switch next() {
            case .comma: continue
            case .close: return values
            case let t: throw SelectorSyntaxError(reason: "expected ',' or ')' but found \(t.text)")
            }
        }
    }

    private func validate(key: String) throws(SelectorSyntaxError) {
        if let reason = LabelSyntax.validateKey(key) {
            throw SelectorSyntaxError(reason: "invalid key '\(key)': \(reason)")
        }
    }

    private func validate(value: String) throws(SelectorSyntaxError) {
        if let reason = LabelSyntax.validateValue(value) {
            throw SelectorSyntaxError(reason: "invalid value '\(value)': \(reason)")
        }
    }

    // MARK: - Tokens

    private mutating func peek() -> Token {
        let saved = pos
        defer { pos = saved }
        return next()
    }

    private mutating func next() -> Token {
        while pos < bytes.count, isSpace(bytes[pos]) { pos += 1 }
        guard pos < bytes.count else { return .end }
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "!"):
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "=") {
                pos += 1
                return .notEquals
            }
            return .not
        case UInt8(ascii: "="):
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "=") { pos += 1 }
            return .equals
        case UInt8(ascii: "("): return .open
        case UInt8(ascii: ")"): return .close
        case UInt8(ascii: ","): return .comma
        default:
            let start = pos - 1
            while pos < bytes.count, !isSpace(bytes[pos]), !isSpecial(bytes[pos]) { pos += 1 }
            return .identifier(String(decoding: bytes[start..<pos], as: UTF8.self))
        }
    }

    private func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    private func isSpecial(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "!") || c == UInt8(ascii: "=") || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
            || c == UInt8(ascii: ",")
    }
}
