/// Decodes `Decodable` values straight from a `JSONValue` tree (no serialization round trip).
///
/// Errors are `DecodingError`s whose coding paths name the offending field exactly (array elements are
/// `TreeIndexKey`s) and whose debug descriptions are short human messages ("expected integer, got string");
/// `KumoError(decoding:kind:)` turns them into 422s with dotted field paths such as `spec.ports[0].port`.
struct ValueTreeDecoder {
    func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoder(value: value, codingPath: []).decodeValue(type)
    }
}

/// An array position in a coding path (rendered `[3]`).
struct TreeIndexKey: CodingKey {
    var index: Int
    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.index = intValue }
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
}

/// A plain string key (used for `superDecoder`).
struct TreeNameKey: CodingKey {
    var stringValue: String
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    var intValue: Int? { nil }
}

/// A short name of a value's JSON type for error messages.
private func jsonTypeName(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw mismatch([String: Any].self, expected: "object", value, codingPath)
        }
        return KeyedDecodingContainer(TreeKeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let array) = value else {
            throw mismatch([Any].self, expected: "array", value, codingPath)
        }
        return TreeUnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        if T.self == String.self { return try decodeString() as! T }
        if T.self == Bool.self { return try decodeBool() as! T }
        if T.self == Int.self { return try decodeInteger(Int.self) as! T }
        if T.self == Double.self { return try decodeDouble() as! T }
        if T.self == Int64.self { return try decodeInteger(Int64.self) as! T }
        return try T(from: self)
    }

    func decodeString() throws -> String {
        guard case .string(let s) = value else { throw mismatch(String.self, expected: "string", value, codingPath) }
        return s
    }

    func decodeBool() throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch(Bool.self, expected: "boolean", value, codingPath) }
        return b
    }

    func decodeDouble() throws -> Double {
        guard case .number(let n) = value else { throw mismatch(Double.self, expected: "number", value, codingPath) }
        return n
    }

    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard case .number(let n) = value else { throw mismatch(I.self, expected: "integer", value, codingPath) }
        guard n.rounded(.towardZero) == n else {
            throw DecodingError.typeMismatch(
                I.self, .init(codingPath: codingPath, debugDescription: "expected integer, got \(formatNumber(n))"))
        }
        // beyond ±(2^53 − 1) a JSON number is no longer one integer (its neighbours round to it), and it would be
        // written back in exponent form, which clients read as a float: refused, as any other number out of range
        if I.isSigned, abs(n) > JSONValue.maxSafeInteger {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath,
                    debugDescription: "number \(formatNumber(n)) is out of range (beyond ±\(Int64(JSONValue.maxSafeInteger)))"))
        }
        guard let i = I(exactly: n) else {
            // The Double nearest to UInt64.max is 2^64, so the number written as exactly the max (runc's
            // "unlimited", or the tree encoder's own output for it) lands there. Unsigned only: no API field is
            // unsigned, so a client cannot reach a max that `+ 1` would trap on.
            if !I.isSigned, n == Double(I.max) { return I.max }
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "number \(formatNumber(n)) is out of range"))
        }
        return i
    }
}

extension TreeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeBool() }
    func decode(_ type: String.Type) throws -> String { try decodeString() }
    func decode(_ type: Double.Type) throws -> Double { try decodeDouble() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decodeDouble()) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }
}

private struct TreeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func child(_ key: Key) throws -> TreeDecoder {
        guard let v = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "required"))
        }
        return TreeDecoder(value: v, codingPath: codingPath + [key])
    }

    /// A present, non-null member (null for a non-optional field is "required").
    private func nonNull(_ key: Key, _ type: Any.Type) throws -> TreeDecoder {
        let d = try child(key)
        if d.value.isNull {
            throw DecodingError.valueNotFound(type, .init(codingPath: d.codingPath, debugDescription: "required"))
        }
        return d
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).value.isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try nonNull(key, type).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try nonNull(key, type).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try nonNull(key, type).decodeDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try nonNull(key, type).decodeDouble()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try nonNull(key, type).decodeInteger(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try nonNull(key, type).decodeInteger(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if T.self == JSONValue.self { return try child(key).value as! T }
        return try nonNull(key, type).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try nonNull(key, [String: Any].self).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try nonNull(key, [Any].self).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: object["super"] ?? .null, codingPath: codingPath + [TreeNameKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct TreeUnkeyedContainer: UnkeyedDecodingContainer {
    let array: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(array: [JSONValue], codingPath: [any CodingKey]) {
        self.array = array
        self.codingPath = codingPath
    }

    var count: Int? { array.count }
    var isAtEnd: Bool { currentIndex >= array.count }

    private mutating func next(_ type: Any.Type) throws -> TreeDecoder {
        let path = codingPath + [TreeIndexKey(currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: path, debugDescription: "unexpected end of array"))
        }
        let d = TreeDecoder(value: array[currentIndex], codingPath: path)
        if d.value.isNull && type != JSONValue.self {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "must not be null"))
        }
        currentIndex += 1
        return d
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if array[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decodeBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next(type).decodeString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decodeDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next(type).decodeDouble()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type).decodeInteger(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).decodeInteger(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).decodeInteger(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).decodeInteger(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next([String: Any].self).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([Any].self).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
}

private func mismatch(_ type: Any.Type, expected: String, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError
{
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(expected), got \(jsonTypeName(value))"))
}

private func formatNumber(_ n: Double) -> String {
    if n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
    return String(n)
}

// MARK: - Errors

extension DecodingError {
    /// The dotted field path (`spec.ports[0].port`) and message of this error.
    var fieldError: FieldError {
        switch self {
        case .keyNotFound(let key, let context):
            return FieldError(renderTreeFieldPath(context.codingPath + [key]), "required")
        case .valueNotFound(_, let context):
            return FieldError(renderTreeFieldPath(context.codingPath), context.debugDescription)
        case .typeMismatch(_, let context), .dataCorrupted(let context):
            return FieldError(renderTreeFieldPath(context.codingPath), context.debugDescription)
        @unknown default:
            return FieldError("", "\(self)")
        }
    }
}

/// `[spec, ports, TreeIndexKey(0), port]` → `spec.ports[0].port`.
func renderTreeFieldPath(_ path: [any CodingKey]) -> String {
    var s = ""
    for key in path {
        if let i = key as? TreeIndexKey {
            s += "[\(i.index)]"
        } else {
            if !s.isEmpty { s += "." }
            s += key.stringValue
        }
    }
    return s
}
