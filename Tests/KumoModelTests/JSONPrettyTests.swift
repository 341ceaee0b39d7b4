import Testing

@testable import KumoModel

@Suite("JSON pretty serialization")
struct JSONPrettyTests {
    @Test func indentsTwoSpacesWithSortedKeys() {
        let v: JSONValue = ["spec": ["ports": [80, 443], "empty": [:], "none": []], "kind": "Service", "a/b": nil]
        #expect(
            v.prettyString == """
                {
                  "a/b": null,
                  "kind": "Service",
                  "spec": {
                    "empty": {},
                    "none": [],
                    "ports": [
                      80,
                      443
                    ]
                  }
                }
                """)
        #expect(v.prettySerialized() == Array(v.prettyString.utf8))
        #expect(JSONValue.object([:]).prettyString == "{}")
        #expect(JSONValue.array([[]]).prettyString == "[\n  []\n]")
        #expect(JSONValue.string("line\n\"q\" /").prettyString == #""line\n\"q\" /""#)
        #expect(JSONValue.number(2.5).prettyString == "2.5")
    }

    /// The layout of the CLI's former `JSONPretty`, on random values (with its keys sorted bytewise, as the compact
    /// form sorts them), and the text parses back to the value.
    @Test func matchesTheFormerCLILayoutAndRoundTrips() throws {
        func reference(_ value: JSONValue, indent: String = "") -> String {
            let next = indent + "  "
            switch value {
            case .object(let o) where !o.isEmpty:
                let keys = o.keys.sorted { JSONWriter.utf8Less($0, $1) }
                let body = keys.map { "\(next)\(JSONValue.string($0).jsonString): \(reference(o[$0]!, indent: next))" }
                return "{\n" + body.joined(separator: ",\n") + "\n\(indent)}"
            case .array(let a) where !a.isEmpty:
                return "[\n" + a.map { next + reference($0, indent: next) }.joined(separator: ",\n") + "\n\(indent)]"
            default:
                return value.jsonString
            }
        }
        var random = RandomJSON(seed: 18)
        for _ in 0..<300 {
            let v = random.value(depth: 5)
            #expect(v.prettyString == reference(v))
            #expect(try JSONValue(parsing: v.prettySerialized()) == v)
        }
    }
}
