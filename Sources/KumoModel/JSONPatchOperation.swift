/// One operation of a JSON Patch (RFC 6902), encoded as the RFC's object:
/// `{"op": "add", "path": "/a/b", "value": 1}`, `{"op": "move", "from": "/a", "path": "/b"}`.
/// Absent members are omitted; a present `value` of `null` is kept (`"value": null` adds a null).
public struct JSONPatchOperation: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Op: String, Sendable, Hashable, Codable, CaseIterable {
        case add, remove, replace, move, copy, test
    }

    public var op: Op
    /// JSON Pointer (RFC 6901) of the target location.
    public var path: String
    /// JSON Pointer of the source location (`move`, `copy`).
    public var from: String?
    /// The value (`add`, `replace`, `test`).
    public var value: JSONValue?

    public init(op: Op, path: String, from: String? = nil, value: JSONValue? = nil) {
        self.op = op
        self.path = path
        self.from = from
        self.value = value
    }

    public static func add(_ path: String, _ value: JSONValue) -> Self { Self(op: .add, path: path, value: value) }
    public static func remove(_ path: String) -> Self { Self(op: .remove, path: path) }
    public static func replace(_ path: String, _ value: JSONValue) -> Self {
        Self(op: .replace, path: path, value: value)
    }
    public static func move(from: String, to path: String) -> Self { Self(op: .move, path: path, from: from) }
    public static func copy(from: String, to path: String) -> Self { Self(op: .copy, path: path, from: from) }
    public static func test(_ path: String, _ value: JSONValue) -> Self { Self(op: .test, path: path, value: value) }

    // MARK: - As a JSONValue

    /// The RFC 6902 object for this operation.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["op": .string(op.rawValue), "path": .string(path)]
        if let from { o["from"] = .string(from) }
        if let value { o["value"] = value }
        return .object(o)
    }

    /// Reads one operation object. Members other than `op`, `path`, `from`, `value` are ignored (RFC 6902
    /// section 4); missing members the op needs are checked by `JSONPatch.apply`.
    public init(json: JSONValue) throws(KumoError) {
        guard case .object(let o) = json else {
            throw KumoError(.invalid, "invalid JSON patch operation: must be an object")
        }
        guard let opName = o["op"]?.stringValue else {
            throw KumoError(.invalid, "invalid JSON patch operation: \"op\" must be a string")
        }
        guard let op = Op(rawValue: opName) else {
            throw KumoError(.invalid, "invalid JSON patch operation: unknown op \"\(opName)\"")
        }
        guard let path = o["path"]?.stringValue else {
            throw KumoError(.invalid, "invalid JSON patch operation: \"path\" must be a string")
        }
        var from: String?
        if let f = o["from"] {
            guard let s = f.stringValue else {
                throw KumoError(.invalid, "invalid JSON patch operation: \"from\" must be a string")
            }
            from = s
        }
        self.init(op: op, path: path, from: from, value: o["value"])
    }

    // MARK: - Codable

    private enum CodingKeys: String, CodingKey {
        case op, path, from, value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        op = try c.decode(Op.self, forKey: .op)
        path = try c.decode(String.self, forKey: .path)
        from = try c.decodeIfPresent(String.self, forKey: .from)
        // `decodeIfPresent` would turn `"value": null` into nil; a present null is the value `.null`.
        if !c.contains(.value) {
            value = nil
        } else if try c.decodeNil(forKey: .value) {
            value = .null
        } else {
            value = try c.decode(JSONValue.self, forKey: .value)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(op, forKey: .op)
        try c.encode(path, forKey: .path)
        try c.encodeIfPresent(from, forKey: .from)
        if let value { try c.encode(value, forKey: .value) }
    }

    public var description: String { json.jsonString }
}
