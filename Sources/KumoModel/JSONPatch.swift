/// JSON Patch (RFC 6902): the form history records changes in.
public enum JSONPatch {
    // MARK: - Diff

    /// A patch that turns `from` into `to`: `try apply(diff(from: a, to: b), to: a) == b`.
    ///
    /// Only `add`, `remove` and `replace` are produced. Objects are diffed member by member, in bytewise key
    /// order (so the output is deterministic); arrays that differ are replaced whole; values of different
    /// types are replaced. Equal values give `[]`; different values at the root that are not both objects
    /// give one `replace` at `""`.
    public static func diff(from: JSONValue, to: JSONValue) -> [JSONPatchOperation] {
        var ops: [JSONPatchOperation] = []
        diff(from, to, path: "", into: &ops)
        return ops
    }

    private static func diff(_ a: JSONValue, _ b: JSONValue, path: String, into ops: inout [JSONPatchOperation]) {
        guard case .object(let x) = a, case .object(let y) = b else {
            if a != b { ops.append(.replace(path, b)) }
            return
        }
        var keys = Array(x.keys)
        for key in y.keys where x[key] == nil { keys.append(key) }
        keys.sort(by: JSONWriter.utf8Less)
        for key in keys {
            let old = x[key]
            let new = y[key]
            if let old, let new {
                if old != new { diff(old, new, path: JSONPointer.appending(key, to: path), into: &ops) }
            } else if let new {
                ops.append(.add(JSONPointer.appending(key, to: path), new))
            } else {
                ops.append(.remove(JSONPointer.appending(key, to: path)))
            }
        }
    }

    // MARK: - Apply

    /// Applies `operations` in order (RFC 6902 section 4, all six ops). The whole patch fails if any
    /// operation fails (including a failed `test`), with `.invalid` naming the operation and its path.
    public static func apply(_ operations: [JSONPatchOperation], to document: JSONValue) throws(KumoError)
        -> JSONValue
    {
        var doc = document
        for (index, operation) in operations.enumerated() {
            do {
                try apply(operation, to: &doc)
            } catch {
                throw KumoError(
                    .invalid,
                    "invalid JSON patch operation \(index) (\(operation.op.rawValue) \"\(operation.path)\"): "
                        + error.message,
                    field: operation.path)
            }
        }
        return doc
    }

    /// Reads a patch document (a JSON array of operation objects).
    public static func operations(from json: JSONValue) throws(KumoError) -> [JSONPatchOperation] {
        guard case .array(let items) = json else {
            throw KumoError(.invalid, "invalid JSON patch: must be an array of operations")
        }
        var ops: [JSONPatchOperation] = []
        ops.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do {
                ops.append(try JSONPatchOperation(json: item))
            } catch {
                throw KumoError(.invalid, "invalid JSON patch: operation \(index): " + error.message)
            }
        }
        return ops
    }

    /// The patch document (a JSON array of operation objects).
    public static func json(_ operations: [JSONPatchOperation]) -> JSONValue {
        .array(operations.map(\.json))
    }

    private static func apply(_ operation: JSONPatchOperation, to doc: inout JSONValue) throws(KumoError) {
        let path = try JSONPointer.parse(operation.path)
        switch operation.op {
        case .add:
            try add(try required(operation.value, "value"), at: path, in: &doc)
        case .remove:
            _ = try remove(at: path, in: &doc)
        case .replace:
            let value = try required(operation.value, "value")
            if path.isEmpty {
                doc = value
                return
            }
            try withParent(of: path, in: &doc) { (parent: inout JSONValue, token: String) throws(KumoError) in
                switch parent {
                case .object(var o):
                    guard o[token] != nil else { throw missing() }
                    parent = .null
                    o[token] = value
                    parent = .object(o)
                case .array(var a):
                    let i = try existingIndex(token, count: a.count)
                    parent = .null
                    a[i] = value
                    parent = .array(a)
                default:
                    throw missing()
                }
            }
        case .move:
            let from = try JSONPointer.parse(try required(operation.from, "from"))
            if from == path {
                guard value(at: path, in: doc) != nil else { throw fromMissing(operation.from) }
                return
            }
            if from.count < path.count, Array(path.prefix(from.count)) == from {
                throw KumoError(.invalid, "cannot move a value into one of its own children")
            }
            let value: JSONValue
            do {
                value = try remove(at: from, in: &doc)
            } catch {
                throw fromMissing(operation.from)
            }
            try add(value, at: path, in: &doc)
        case .copy:
            let from = try JSONPointer.parse(try required(operation.from, "from"))
            guard let value = value(at: from, in: doc) else { throw fromMissing(operation.from) }
            try add(value, at: path, in: &doc)
        case .test:
            let expected = try required(operation.value, "value")
            guard let actual = value(at: path, in: doc) else { throw missing() }
            guard actual == expected else {
                throw KumoError(.invalid, "test failed: the value is \(actual.jsonString), not \(expected.jsonString)")
            }
        }
    }

    /// The value a parsed pointer names, or nil.
    public static func value(at tokens: [String], in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = JSONPointer.arrayIndex(token), i < a.count else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    private static func add(_ value: JSONValue, at path: [String], in doc: inout JSONValue) throws(KumoError) {
        if path.isEmpty {
            doc = value
            return
        }
        try withParent(of: path, in: &doc) { (parent: inout JSONValue, token: String) throws(KumoError) in
            switch parent {
            case .object(var o):
                parent = .null
                o[token] = value
                parent = .object(o)
            case .array(var a):
                let i: Int
                if token == "-" {
                    i = a.count
                } else {
                    guard let index = JSONPointer.arrayIndex(token) else { throw badIndex(token) }
                    guard index <= a.count else {
                        throw KumoError(.invalid, "array index \(index) is out of bounds (count \(a.count))")
                    }
                    i = index
                }
                parent = .null
                a.insert(value, at: i)
                parent = .array(a)
            default:
                throw KumoError(.invalid, "the parent is not an object or array")
            }
        }
    }

    private static func remove(at path: [String], in doc: inout JSONValue) throws(KumoError) -> JSONValue {
        guard !path.isEmpty else { throw KumoError(.invalid, "cannot remove the whole document") }
        return try withParent(of: path, in: &doc) {
            (parent: inout JSONValue, token: String) throws(KumoError) -> JSONValue in
            switch parent {
            case .object(var o):
                guard o[token] != nil else { throw missing() }
                parent = .null
                let removed = o.removeValue(forKey: token)
                parent = .object(o)
                return removed ?? .null
            case .array(var a):
                let i = try existingIndex(token, count: a.count)
                parent = .null
                let removed = a.remove(at: i)
                parent = .array(a)
                return removed
            default:
                throw missing()
            }
        }
    }

    /// Walks to the container holding the last token of `path` (which must not be empty) and calls `body`
    /// with it in place, so copy-on-write storage is mutated without copying.
    private static func withParent<R>(
        of path: [String], in doc: inout JSONValue,
        _ body: (inout JSONValue, String) throws(KumoError) -> R
    ) throws(KumoError) -> R {
        try descend(&doc, path[...], body)
    }

    private static func descend<R>(
        _ node: inout JSONValue, _ tokens: ArraySlice<String>,
        _ body: (inout JSONValue, String) throws(KumoError) -> R
    ) throws(KumoError) -> R {
        let token = tokens[tokens.startIndex]
        if tokens.count == 1 { return try body(&node, token) }
        let rest = tokens.dropFirst()
        switch node {
        case .object(var o):
            guard o[token] != nil else { throw missing() }
            node = .null  // drop this reference so `o` is uniquely referenced
            defer { node = .object(o) }
            return try descend(&o[token]!, rest, body)
        case .array(var a):
            let i = try existingIndex(token, count: a.count)
            node = .null
            defer { node = .array(a) }
            return try descend(&a[i], rest, body)
        default:
            throw missing()
        }
    }

    private static func existingIndex(_ token: String, count: Int) throws(KumoError) -> Int {
        guard let i = JSONPointer.arrayIndex(token) else { throw badIndex(token) }
        guard i < count else { throw KumoError(.invalid, "array index \(i) is out of bounds (count \(count))") }
        return i
    }

    private static func required<T>(_ member: T?, _ name: String) throws(KumoError) -> T {
        guard let member else { throw KumoError(.invalid, "missing \"\(name)\" member") }
        return member
    }

    private static func missing() -> KumoError { KumoError(.invalid, "path does not exist") }
    private static func fromMissing(_ from: String?) -> KumoError {
        KumoError(.invalid, "\"from\" location \"\(from ?? "")\" does not exist")
    }
    private static func badIndex(_ token: String) -> KumoError {
        KumoError(.invalid, "\"\(token)\" is not a valid array index")
    }
}
