/// JSON Schemas (the OpenAPI 3.0 dialect) of the model's types, read off the types themselves: `of(T.self)` runs
/// `T.init(from:)` against a decoder that answers every question and writes down what was asked — which keys,
/// required (`decode`) or optional (`decodeIfPresent`), of which types; a dictionary (`allKeys`), an array, a
/// string enum (its cases), a number. So the schema `/openapi.json` publishes for a kind is the shape the
/// server decodes that kind with, and cannot drift from it. Unknown fields are refused by `Kind.canonicalize`,
/// so objects are `additionalProperties: false`.
///
/// Types whose `init(from:)` reads a value in more than one way (a quantity is a number or a string) describe
/// themselves with `SchemaDescribed`.
public enum JSONSchema {
    /// The schema of `T`, or an error naming the type that could not be described.
    public static func of<T: Decodable>(_ type: T.Type) throws(KumoError) -> JSONValue {
        let root = SchemaNode()
        do {
            _ = try SchemaProbe.value(type, root, depth: 0)
        } catch {
            throw KumoError(.internal, "cannot describe \(T.self) as a JSON schema: \(error)", cause: error)
        }
        return root.schema
    }
}

/// A type that states its own schema (and a sample value for the probe to hand back).
public protocol SchemaDescribed {
    static var jsonSchema: JSONValue { get }
    static var schemaSample: Self { get }
}

/// What the probe learned about one value.
final class SchemaNode {
    enum Shape {
        case unknown
        case fixed(JSONValue)
        case object([(name: String, node: SchemaNode, required: Bool)])
        case map(SchemaNode)
        case array(SchemaNode)
    }
    var shape: Shape = .unknown

    func property(_ name: String, required: Bool) -> SchemaNode {
        var properties: [(name: String, node: SchemaNode, required: Bool)] = []
        if case .object(let existing) = shape { properties = existing }
        if let found = properties.first(where: { $0.name == name }) { return found.node }
        let node = SchemaNode()
        properties.append((name, node, required))
        shape = .object(properties)
        return node
    }

    func becomeObject() { if case .unknown = shape { shape = .object([]) } }

    func becomeMap() -> SchemaNode {
        if case .map(let values) = shape { return values }
        let values = SchemaNode()
        shape = .map(values)
        return values
    }

    func becomeArray() -> SchemaNode {
        if case .array(let items) = shape { return items }
        let items = SchemaNode()
        shape = .array(items)
        return items
    }

    var schema: JSONValue {
        switch shape {
        case .unknown: return .object([:])
        case .fixed(let schema): return schema
        case .object(let properties):
            var object: [String: JSONValue] = [
                "type": "object", "additionalProperties": false,
                "properties": .object(Dictionary(properties.map { ($0.name, $0.node.schema) }) { a, _ in a }),
            ]
            let required = properties.filter(\.required).map { JSONValue.string($0.name) }
            if !required.isEmpty { object["required"] = .array(required) }
            return .object(object)
        case .map(let values): return ["type": "object", "additionalProperties": values.schema]
        case .array(let items): return ["type": "array", "items": items.schema]
        }
    }
}

/// Produces a value of any decodable type while recording its schema into a node.
enum SchemaProbe {
    static let maxDepth = 40

    struct TooDeep: Error, CustomStringConvertible {
        var description: String { "nesting deeper than \(SchemaProbe.maxDepth) (a recursive type?)" }
    }

    static func value<T: Decodable>(_ type: T.Type, _ node: SchemaNode, depth: Int) throws -> T {
        guard depth < maxDepth else { throw TooDeep() }
        if let described = T.self as? any SchemaDescribed.Type {
            node.shape = .fixed(described.jsonSchema)
            return described.schemaSample as! T
        }
        if let cases = T.self as? any (CaseIterable & RawRepresentable).Type, let (values, sample) = enumeration(cases) {
            node.shape = .fixed(["type": "string", "enum": .array(values)])
            return sample as! T
        }
        if let primitive = primitive(T.self) {
            node.shape = .fixed(primitive.schema)
            return primitive.sample as! T
        }
        return try T(from: SchemaDecoder(node: node, depth: depth + 1))
    }

    private static func enumeration<E: CaseIterable & RawRepresentable>(_: E.Type) -> ([JSONValue], E)? {
        guard let first = E.allCases.first else { return nil }
        let values = E.allCases.compactMap { ($0.rawValue as? String).map(JSONValue.string) }
        guard values.count == E.allCases.count else { return nil }
        return (values, first)
    }

    /// Signed integers as the tree decoder reads them: exact JSON integers only.
    static let safeInteger: JSONValue = [
        "type": "integer", "minimum": .number(-JSONValue.maxSafeInteger), "maximum": .number(JSONValue.maxSafeInteger),
    ]

    static func primitive(_ type: Any.Type) -> (schema: JSONValue, sample: Any)? {
        switch type {
        case is String.Type: (["type": "string"], "")
        case is Bool.Type: (["type": "boolean"], false)
        case is Int.Type: (safeInteger, 0)
        case is Int64.Type: (safeInteger, Int64(0))
        case is Int32.Type: (["type": "integer", "format": "int32"], Int32(0))
        case is UInt64.Type: (["type": "integer", "minimum": 0], UInt64(0))
        case is UInt32.Type: (["type": "integer", "minimum": 0], UInt32(0))
        case is UInt16.Type: (["type": "integer", "minimum": 0, "maximum": 65535], UInt16(0))
        case is UInt8.Type: (["type": "integer", "minimum": 0, "maximum": 255], UInt8(0))
        case is UInt.Type: (["type": "integer", "minimum": 0], UInt(0))
        case is Int16.Type: (["type": "integer"], Int16(0))
        case is Int8.Type: (["type": "integer"], Int8(0))
        case is Double.Type: (["type": "number"], 0.0)
        case is Float.Type: (["type": "number"], Float(0))
        default: nil
        }
    }
}

extension JSONValue: SchemaDescribed {
    /// Any JSON value.
    public static var jsonSchema: JSONValue { .object([:]) }
    public static var schemaSample: JSONValue { .null }
}
