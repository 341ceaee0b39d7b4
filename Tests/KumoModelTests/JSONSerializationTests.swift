import KumoModel
import Testing

@Suite("JSON serialization")
struct JSONSerializationTests {
    @Test func compactOutput() {
        let v: JSONValue = ["b": [1, 2.5, "x", true, false, nil], "a": ["nested": [:]], "c": []]
        #expect(v.jsonString == #"{"a":{"nested":{}},"b":[1,2.5,"x",true,false,null],"c":[]}"#)
        #expect(v.serialized() == Array(v.jsonString.utf8))
        #expect(JSONValue.null.jsonString == "null")
        #expect(JSONValue.string("").jsonString == #""""#)
    }

    @Test func objectKeysAreSortedBytewise() {
        let v: JSONValue = ["b": 1, "a": 2, "A": 3, "é": 4, "z": 5, "ÿ": 6, "😀": 7, "": 8, "aa": 9]
        #expect(v.jsonString == #"{"":8,"A":3,"a":2,"aa":9,"b":1,"z":5,"é":4,"ÿ":6,"😀":7}"#)
        // "e\u{301}" (65 CC 81) sorts before "f" bytewise, though Swift's `<` (canonical order) puts it after.
        let decomposed: JSONValue = ["f": 1, "e\u{301}": 2]
        #expect(decomposed.jsonString == "{\"e\u{301}\":2,\"f\":1}")
    }

    @Test func serializationIsDeterministic() {
        var a: [String: JSONValue] = [:]
        var b: [String: JSONValue] = [:]
        let keys = (0..<200).map { "key-\($0)" }
        for k in keys { a[k] = .string(k) }
        for k in keys.reversed() { b[k] = .string(k) }
        #expect(JSONValue.object(a).serialized() == JSONValue.object(b).serialized())
        var random = RandomJSON(seed: 3)
        for _ in 0..<200 {
            let v = random.value()
            #expect(v.serialized() == v.serialized())
            // A rebuilt copy (different dictionary layout) serializes identically.
            #expect(rebuilt(v).serialized() == v.serialized())
        }
    }

    private func rebuilt(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            var copy = [String: JSONValue](minimumCapacity: o.count * 4)
            for (k, x) in o.sorted(by: { $0.key > $1.key }) { copy[k] = rebuilt(x) }
            return .object(copy)
        case .array(let a): return .array(a.map(rebuilt))
        default: return v
        }
    }

    @Test func numberForms() throws {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (3, "3"), (-3, "-3"), (3.5, "3.5"), (0.1, "0.1"), (-0.25, "-0.25"),
            (1e15, "1000000000000000"), (9_007_199_254_740_991, "9007199254740991"),
            (-9_007_199_254_740_991, "-9007199254740991"), (1e21, "1e+21"), (1e-7, "1e-07"),
            (.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (123456789012.5, "123456789012.5"),
            (.infinity, "null"), (-.infinity, "null"), (.nan, "null"),
        ]
        for (n, expected) in cases {
            #expect(JSONValue.number(n).jsonString == expected, "\(n)")
        }
        // Whole numbers from 2^53 on are not printed as integers but still round-trip exactly.
        let big = JSONValue.number(9_007_199_254_740_992)
        #expect(big.jsonString != "9007199254740992")
        #expect(try JSONValue(parsing: big.serialized()) == big)
    }

    @Test func stringEscaping() {
        let s = "a\"b\\c/d\ne\tf\rg\u{8}h\u{C}i\u{0}j\u{1}k\u{1F}l\u{7F}mé😀\u{2028}"
        #expect(
            JSONValue.string(s).jsonString
                == "\"a\\\"b\\\\c/d\\ne\\tf\\rg\\bh\\fi\\u0000j\\u0001k\\u001fl\u{7F}mé😀\u{2028}\"")
        // Keys are escaped the same way.
        #expect(JSONValue.object(["k\"\n": 1]).jsonString == #"{"k\"\n":1}"#)
        // Non-ASCII passes through as UTF-8 bytes.
        #expect(JSONValue.string("é").serialized() == [0x22, 0xC3, 0xA9, 0x22])
        // A bridged / non-native string takes the same path.
        let long = String(repeating: "ab\"", count: 100)
        #expect(JSONValue.string(long).jsonString == "\"" + String(repeating: "ab\\\"", count: 100) + "\"")
    }

    @Test func serializedIntoAppends() {
        var out = Array("[".utf8)
        JSONValue.number(1).serialized(into: &out)
        out.append(UInt8(ascii: ","))
        JSONValue.object(["a": "b"]).serialized(into: &out)
        out.append(UInt8(ascii: "]"))
        #expect(String(decoding: out, as: UTF8.self) == #"[1,{"a":"b"}]"#)
    }

    @Test func roundTripOfRandomValues() throws {
        var random = RandomJSON(seed: 42)
        for _ in 0..<3000 {
            let v = random.value(depth: 5)
            let bytes = v.serialized()
            let parsed = try JSONValue(parsing: bytes)
            #expect(parsed == v, "\(v.jsonString)")
            // And serializing again gives the same bytes.
            #expect(parsed.serialized() == bytes)
        }
    }

    @Test func roundTripThroughTheStringInitializer() throws {
        let v: JSONValue = ["name": "日本 😀", "n": -12.75, "list": [nil, true, ["x": "\u{1}"]]]
        #expect(try JSONValue(parsing: v.jsonString) == v)
    }
}
