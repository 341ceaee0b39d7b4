/// A JSON document as a value. The API server works on objects in this form for merge patches (RFC 7386),
/// field ownership and history diffs (RFC 6902); typed resources (`Object<Spec>`) are decoded from it for
/// validation. Numbers are `Double` (integers up to 2^53 are exact; large quantities are strings).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Member of an object (nil for non-objects and absent keys).
    public subscript(key: String) -> JSONValue? {
        get { objectValue?[key] }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    /// Value at a dotted path like `spec.nodeName` (objects only).
    public func value(atPath path: String) -> JSONValue? {
        var current: JSONValue? = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            current = current?[String(part)]
        }
        return current
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.007_199_254_740_992e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// The number as an `Int` when it is one exactly (integral and in range); nil for fractions, NaN, ±infinity,
    /// numbers beyond `Int`, and non-numbers. Never traps, so it is the way to read a client's (or a peer's) number.
    public var intValue: Int? {
        guard case .number(let n) = self else { return nil }
        return Int(exactly: n)
    }

    /// The number as an integer in `range`, or a 422 naming `field`: for numbers a client sends outside a typed spec
    /// (a lease's `durationSeconds`, say).
    public func integer(field: String, in range: ClosedRange<Int>) throws(KumoError) -> Int {
        guard case .number(let n) = self else {
            throw KumoError(.invalid, "\(field) must be a number, not \(String(decoding: self.serialized(), as: UTF8.self))", field: field)
        }
        guard let i = Int(exactly: n), range.contains(i) else {
            throw KumoError(
                .invalid, "\(field) must be a whole number between \(range.lowerBound) and \(range.upperBound), not \(String(decoding: self.serialized(), as: UTF8.self))",
                field: field)
        }
        return i
    }
}
