import KumoModel

/// Indented JSON for people (keys sorted).
enum JSONPretty {
    static func format(_ value: JSONValue, indent: String = "") -> String {
        let next = indent + "  "
        switch value {
        case .object(let o) where !o.isEmpty:
            let body = o.keys.sorted().map { "\(next)\(JSONValue.string($0).jsonString): \(format(o[$0]!, indent: next))" }
            return "{\n" + body.joined(separator: ",\n") + "\n\(indent)}"
        case .array(let a) where !a.isEmpty:
            return "[\n" + a.map { next + format($0, indent: next) }.joined(separator: ",\n") + "\n\(indent)]"
        default:
            return value.jsonString
        }
    }
}
