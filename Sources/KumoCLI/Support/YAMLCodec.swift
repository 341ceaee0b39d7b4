import Foundation
import KumoModel
import Yams

/// YAML ↔ `JSONValue` for manifests and `-o yaml`. Errors say which source and line.
enum YAMLCodec {
    /// Every document in `text` (empty documents skipped).
    static func documents(_ text: String, source: String) throws(KumoError) -> [JSONValue] {
        var out: [JSONValue] = []
        do {
            var documents = try Yams.compose_all(yaml: text)
            while let node = documents.next() {
                let value = try json(node, source: source)
                if !value.isNull { out.append(value) }
            }
            // the sequence stops at a parse error and keeps it instead of throwing
            if let error = documents.error { throw error }
        } catch let e as KumoError {
            throw e
        } catch let e as YamlError {
            throw KumoError(.badRequest, "invalid YAML in \(source): \(describe(e))", cause: e)
        } catch {
            throw KumoError(.badRequest, "invalid YAML in \(source): \(error)", cause: error)
        }
        return out
    }

    static func describe(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .reader(let problem, let offset, _, _):
            return "\(problem)" + (offset.map { " at byte \($0)" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicated keys: \(duplicates.joined(separator: ", "))"
        default:
            return "\(e)"
        }
    }

    static func json(_ node: Yams.Node, source: String) throws(KumoError) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            // Plain scalars get their type from YAML 1.1's rules (3 → int, true → bool); quoted ones stay strings.
            switch Resolver.default.resolveTag(of: node) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { JSONValue.number(Double($0)) } ?? .string(scalar.string)
            case .float: return node.float.map { JSONValue.number($0) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let seq):
            var items: [JSONValue] = []
            for n in seq { items.append(try json(n, source: source)) }
            return .array(items)
        case .mapping(let mapping):
            var o: [String: JSONValue] = [:]
            for (k, v) in mapping {
                guard case .scalar(let ks) = k else {
                    throw KumoError(
                        .badRequest, "invalid YAML in \(source) at line \(k.mark?.line ?? 0): mapping keys must be strings")
                }
                o[ks.string] = try json(v, source: source)
            }
            return .object(o)
        case .alias:
            throw KumoError(.badRequest, "invalid YAML in \(source) at line \(node.mark?.line ?? 0): aliases are not supported")
        }
    }

    static func yaml(_ value: JSONValue) -> String {
        do {
            return try Yams.serialize(node: node(value), sortKeys: true)
        } catch {
            return value.jsonString + "\n"
        }
    }

    static func node(_ value: JSONValue) -> Yams.Node {
        switch value {
        case .null: return Yams.Node("null", Tag(.null))
        case .bool(let b): return Yams.Node(b ? "true" : "false", Tag(.bool))
        case .number(let n):
            let s = JSONValue.number(n).jsonString
            return Yams.Node(s, Tag(n.rounded() == n ? .int : .float))
        case .string(let s):
            return Yams.Node(s, Tag(.str), needsQuotes(s) ? .doubleQuoted : .any)
        case .array(let a): return Yams.Node(a.map(node))
        case .object(let o):
            return Yams.Node(o.keys.sorted().map { (Yams.Node($0), node(o[$0]!)) })
        }
    }

    static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty || Double(s) != nil || Int(s) != nil { return true }
        let special: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]
        return special.contains(s.lowercased()) || s.hasPrefix("0x") || s.hasPrefix("0o")
    }
}
