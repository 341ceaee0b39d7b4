/// Encodes `Encodable` values straight into a `JSONValue` tree (no serialization round trip).
/// Optional fields that are nil are omitted (synthesized `encodeIfPresent`); integers become `.number`.
struct ValueTreeEncoder {
    func encode(_ value: some Encodable) throws -> JSONValue {
        let node = TreeNode()
        try TreeEncoder(node: node, codingPath: []).encodeValue(value)
        return node.materialize()
    }
}

/// One node of the tree under construction; containers hold their children by reference so nested
/// containers can keep writing into them after they are handed out.
private final class TreeNode {
    enum Storage {
        case unset
        case value(JSONValue)
        case object([String: TreeNode])
        case array([TreeNode])
    }
    var storage: Storage = .unset

    init() {}
    init(_ value: JSONValue) { storage = .value(value) }

    func materialize() -> JSONValue {
        switch storage {
        case .unset: return .object([:])
        case .value(let v): return v
        case .object(let o): return .object(o.mapValues { $0.materialize() })
        case .array(let a): return .array(a.map { $0.materialize() })
        }
    }

    func ensureObject() {
        if case .object = storage { return }
        storage = .object([:])
    }

    func ensureArray() {
        if case .array = storage { return }
        storage = .array([])
    }

    func set(_ key: String, _ child: TreeNode) {
        ensureObject()
        guard case .object(var o) = storage else { return }
        storage = .unset  // keep the dictionary uniquely referenced while mutating
        o[key] = child
        storage = .object(o)
    }

    func append(_ child: TreeNode) {
        ensureArray()
        guard case .array(var a) = storage else { return }
        storage = .unset
        a.append(child)
        storage = .array(a)
    }

    var count: Int {
        switch storage {
        case .array(let a): a.count
        case .object(let o): o.count
        default: 0
        }
    }
}

private struct TreeEncoder: Encoder {
    let node: TreeNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.ensureObject()
        return KeyedEncodingContainer(TreeKeyedEncodingContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.ensureArray()
        return TreeUnkeyedEncodingContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { TreeSingleValueContainer(encoder: self) }

    func encodeValue<T: Encodable>(_ value: T) throws {
        switch value {
        case let v as JSONValue: node.storage = .value(v)
        case let v as String: node.storage = .value(.string(v))
        case let v as Bool: node.storage = .value(.bool(v))
        case let v as Int: node.storage = .value(.number(Double(v)))
        case let v as Int64: node.storage = .value(.number(Double(v)))
        case let v as Double: node.storage = .value(.number(v))
        default: try value.encode(to: self)
        }
    }
}

private struct TreeSingleValueContainer: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ v: JSONValue) { encoder.node.storage = .value(v) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(.number(value)) }
    mutating func encode(_ value: Float) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int8) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { set(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt8) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { set(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { set(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
}

private struct TreeKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: TreeNode
    let codingPath: [any CodingKey]

    private func put(_ key: Key, _ v: JSONValue) { node.set(key.stringValue, TreeNode(v)) }

    mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(key, .number(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = TreeEncoder(node: TreeNode(), codingPath: codingPath + [key])
        try child.encodeValue(value)
        node.set(key.stringValue, child.node)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = TreeNode()
        child.ensureObject()
        node.set(key.stringValue, child)
        return KeyedEncodingContainer(
            TreeKeyedEncodingContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = TreeNode()
        child.ensureArray()
        node.set(key.stringValue, child)
        return TreeUnkeyedEncodingContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let child = TreeNode()
        node.set("super", child)
        return TreeEncoder(node: child, codingPath: codingPath + [TreeNameKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = TreeNode()
        node.set(key.stringValue, child)
        return TreeEncoder(node: child, codingPath: codingPath + [key])
    }
}

private struct TreeUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let node: TreeNode
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    private func add(_ v: JSONValue) { node.append(TreeNode(v)) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(.number(value)) }
    mutating func encode(_ value: Float) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int8) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int16) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int32) throws { add(.number(Double(value))) }
    mutating func encode(_ value: Int64) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt8) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt16) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt32) throws { add(.number(Double(value))) }
    mutating func encode(_ value: UInt64) throws { add(.number(Double(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = TreeEncoder(node: TreeNode(), codingPath: codingPath + [TreeIndexKey(count)])
        try child.encodeValue(value)
        node.append(child.node)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = TreeNode()
        child.ensureObject()
        let path = codingPath + [TreeIndexKey(count)]
        node.append(child)
        return KeyedEncodingContainer(TreeKeyedEncodingContainer<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = TreeNode()
        child.ensureArray()
        let path = codingPath + [TreeIndexKey(count)]
        node.append(child)
        return TreeUnkeyedEncodingContainer(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = TreeNode()
        let path = codingPath + [TreeIndexKey(count)]
        node.append(child)
        return TreeEncoder(node: child, codingPath: path)
    }
}
