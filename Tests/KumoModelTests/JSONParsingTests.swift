import KumoModel
import KumoTestSupport
import Testing

@Suite("JSON parsing")
struct JSONParsingTests {
    @Test func parsesScalarsAtTopLevel() throws {
        #expect(try JSONValue(parsing: "true") == .bool(true))
        #expect(try JSONValue(parsing: "false") == .bool(false))
        #expect(try JSONValue(parsing: " \t\r\n null \n") == .null)
        #expect(try JSONValue(parsing: "\"x\"") == .string("x"))
        #expect(try JSONValue(parsing: "42") == .number(42))
        #expect(try JSONValue(parsing: "[]") == .array([]))
        #expect(try JSONValue(parsing: "{}") == .object([:]))
    }

    @Test func parsesNestedDocument() throws {
        let v = try JSONValue(
            parsing: """
                {
                  "apiVersion": "kumo/v1", "kind" : "Node",
                  "metadata": {"name": "n1", "labels": {"zone": "a"}},
                  "spec": {"cpu": 4, "ratio": 0.5, "taints": [], "flags": [true, false, null]}
                }
                """)
        #expect(v["kind"] == "Node")
        #expect(v.value(atPath: "metadata.labels.zone") == "a")
        #expect(v.value(atPath: "spec.cpu") == 4)
        #expect(v.value(atPath: "spec.ratio") == 0.5)
        #expect(v.value(atPath: "spec.taints") == [])
        #expect(v.value(atPath: "spec.flags") == [true, false, nil])
    }

    @Test func parsesNumbers() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", 0), ("1", 1), ("-1", -1), ("123456", 123_456), ("1.5", 1.5), ("-0.25", -0.25),
            ("1e2", 100), ("1E2", 100), ("1e+2", 100), ("1e-2", 0.01), ("0.1", 0.1), ("2.5E-3", 0.0025),
            ("9007199254740991", 9_007_199_254_740_991), ("9007199254740993", 9_007_199_254_740_992),
            ("123456789012345678901234567890", 1.2345678901234568e29),
            ("0.30000000000000004", 0.30000000000000004), ("2.2250738585072014e-308", 2.2250738585072014e-308),
            ("4.9406564584124654e-324", .leastNonzeroMagnitude), ("1.7976931348623157e308", 1.7976931348623157e308),
            ("1e-400", 0), ("0e999999", 0), ("100000000000000000000000.0", 1e23),
            ("0.000000000000000000000000000001", 1e-30), ("3.141592653589793238462643383279", Double.pi),
        ]
        for (text, expected) in cases {
            #expect(try JSONValue(parsing: text) == .number(expected), "\(text)")
        }
        #expect(try JSONValue(parsing: "-0").numberValue?.sign == .minus)
    }

    @Test func numbersRoundTripExactlyThroughTheirShortestForm() throws {
        var random = RandomJSON(seed: 7)
        for _ in 0..<20_000 {
            let d = random.number()
            let parsed = try JSONValue(parsing: d.description).numberValue
            #expect(parsed?.bitPattern == d.bitPattern || (d == 0 && parsed == 0), "\(d.description)")
        }
    }

    @Test func decimalFormsAgreeWithTheStandardLibrary() throws {
        var rng = RandomJSON.Generator(seed: 11)
        for _ in 0..<20_000 {
            let digits = String(UInt64.random(in: 0..<UInt64.max, using: &rng))
            let length = Int.random(in: 1...digits.count, using: &rng)
            var mantissa = String(digits.prefix(length))
            while mantissa.count > 1, mantissa.hasPrefix("0") { mantissa.removeFirst() }
            let point = Int.random(in: 0...mantissa.count, using: &rng)
            var text = mantissa
            if point < mantissa.count {
                let i = text.index(text.startIndex, offsetBy: point)
                text = (point == 0 ? "0" : String(text[..<i])) + "." + text[i...]
            }
            if Bool.random(using: &rng) { text += "e\(Int.random(in: -40...40, using: &rng))" }
            if Bool.random(using: &rng) { text = "-" + text }
            let parsed = try JSONValue(parsing: text).numberValue
            #expect(parsed == Double(text)!, "\(text)")
        }
    }

    @Test func parsesStringEscapes() throws {
        #expect(try JSONValue(parsing: #""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try JSONValue(parsing: #""\u0041\u00e9\u00E9\u65e5""#) == .string("Aéé日"))
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue(parsing: #""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try JSONValue(parsing: #""x\uDBFF\uDFFFy""#) == .string("x\u{10FFFF}y"))
        #expect(try JSONValue(parsing: "\"日本語 😀 e\u{301}\"") == .string("日本語 😀 e\u{301}"))
        #expect(try JSONValue(parsing: #"{"k\"ey": "v\\"}"#) == .object(["k\"ey": "v\\"]))
        // DEL and the line/paragraph separators may appear raw.
        #expect(try JSONValue(parsing: "\"\u{7F}\u{2028}\u{2029}\"") == .string("\u{7F}\u{2028}\u{2029}"))
    }

    @Test func acceptsAnyByteCollection() throws {
        #expect(try JSONValue(parsing: Array("[1,2]".utf8)) == [1, 2])
        #expect(try JSONValue(parsing: Array("x[1,2]".utf8)[1...]) == [1, 2])
        // Not contiguous: goes through the copying path.
        #expect(try JSONValue(parsing: Array("]\"b\" ,\"a\"[".utf8).reversed()) == ["a", "b"])
        #expect(try JSONValue(parsing: "{\"a\":1}".utf8) == ["a": 1])
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let depth = JSONValue.maxParsingDepth
        #expect(depth == 512)
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var v = try JSONValue(parsing: arrays)
        var levels = 0
        while case .array(let a) = v {
            levels += 1
            v = a.first ?? .null
        }
        #expect(levels == depth)
        let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(try JSONValue(parsing: objects).objectValue != nil)
    }

    @Test func rejectsNestingBeyondTheLimit() {
        let arrays = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(
            kumoErrorMessage { _ = try JSONValue(parsing: arrays) }
                == "malformed JSON: nesting deeper than 512 levels at line 1 column 513")
        let mixed = String(repeating: "{\"a\":[", count: 300) + String(repeating: "]}", count: 300)
        #expect(kumoErrorMessage { _ = try JSONValue(parsing: mixed) }?.contains("nesting deeper than 512") == true)
        // Far deeper input fails at the limit, not with a stack overflow.
        let huge = String(repeating: "[", count: 1_000_000)
        #expect(kumoErrorMessage { _ = try JSONValue(parsing: huge) }?.contains("nesting deeper than 512") == true)
    }

    @Test func malformedInputReportsWhatAndWhere() {
        let cases: [(String, String)] = [
            ("", "unexpected end of input at line 1 column 1"),
            ("   ", "unexpected end of input at line 1 column 4"),
            ("{", "unexpected end of input in object at line 1 column 2"),
            ("[1,]", "unexpected character ']' at line 1 column 4"),
            ("[1 2]", "expected ',' or ']' but found character '2' at line 1 column 4"),
            ("{\"a\":1,}", "expected a string key but found character '}' at line 1 column 8"),
            ("{\"a\" 1}", "expected ':' after object key but found character '1' at line 1 column 6"),
            ("{\"a\":1 \"b\":2}", "expected ',' or '}' but found character '\"' at line 1 column 8"),
            ("{a:1}", "expected a string key but found character 'a' at line 1 column 2"),
            ("{\n  \"a\": tru\n}", "invalid literal (expected 'true') at line 2 column 8"),
            ("nul", "unexpected end of input at line 1 column 4"),
            ("nulL", "invalid literal (expected 'null') at line 1 column 1"),
            ("1 2", "unexpected character '2' after the JSON value at line 1 column 3"),
            ("{}x", "unexpected character 'x' after the JSON value at line 1 column 3"),
            ("01", "leading zeros are not allowed in numbers at line 1 column 1"),
            ("-01", "leading zeros are not allowed in numbers at line 1 column 1"),
            ("1.", "expected a digit after the decimal point at line 1 column 3"),
            ("1.e3", "expected a digit after the decimal point at line 1 column 3"),
            ("-", "unexpected end of input in number at line 1 column 2"),
            ("-a", "expected a digit but found character 'a' at line 1 column 2"),
            ("1e", "expected a digit in the exponent at line 1 column 3"),
            ("1e+", "expected a digit in the exponent at line 1 column 4"),
            (".5", "unexpected character '.' at line 1 column 1"),
            ("+1", "unexpected character '+' at line 1 column 1"),
            ("NaN", "unexpected character 'N' at line 1 column 1"),
            ("[Infinity]", "unexpected character 'I' at line 1 column 2"),
            ("1e400", "number out of range at line 1 column 1"),
            ("[\n  -1e309\n]", "number out of range at line 2 column 3"),
            ("\"abc", "unterminated string at line 1 column 1"),
            ("[\"a\\\"]", "unterminated string at line 1 column 2"),
            ("\"a\tb\"", "unescaped control character in string at line 1 column 3"),
            ("\"a\nb\"", "unescaped control character in string at line 1 column 3"),
            ("\"\\x\"", "invalid escape '\\x' in string at line 1 column 2"),
            ("\"\\u12G4\"", "invalid hex digit in \\u escape at line 1 column 6"),
            ("\"\\u12\"", "invalid hex digit in \\u escape at line 1 column 6"),
            ("\"\\u12", "unexpected end of input in \\u escape at line 1 column 6"),
            ("\"\\ud800\"", "unpaired UTF-16 surrogate in \\u escape at line 1 column 2"),
            ("\"\\ud800\\u0041\"", "unpaired UTF-16 surrogate in \\u escape at line 1 column 2"),
            ("\"\\udc00\"", "unpaired UTF-16 surrogate in \\u escape at line 1 column 2"),
            ("{\"a\":1,\"a\":2}", "duplicate key \"a\" at line 1 column 8"),
            ("['a']", "unexpected character ''' at line 1 column 2"),
            ("[\"é\", x]", "unexpected character 'x' at line 1 column 7"),
            ("{\"日本\":\n\n   [1,,", "unexpected character ',' at line 3 column 7"),
            ("\u{FEFF}{}", "unexpected byte 0xEF at line 1 column 1"),
        ]
        for (input, expected) in cases {
            let message = kumoErrorMessage { _ = try JSONValue(parsing: input) }
            #expect(message == "malformed JSON: " + expected, "input: \(input.debugDescription)")
        }
    }

    @Test func errorsAreBadRequest() {
        do {
            _ = try JSONValue(parsing: "[")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badRequest)
            #expect(error.code.httpStatus == 400)
            #expect(error.field == nil)
        }
    }

    @Test func rejectsInvalidUTF8() throws {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate U+D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xE2, 0x82, 0x22],  // truncated
            [0x22, 0x5C, 0x6E, 0xC3, 0x22],  // truncated after an escape
            [0x22, 0xC3],  // truncated at the end of input
        ]
        for bytes in cases {
            let message = kumoErrorMessage { _ = try JSONValue(parsing: bytes) }
            #expect(message?.hasPrefix("malformed JSON: invalid UTF-8 in string at line 1 column ") == true, "\(bytes)")
        }
        #expect(try JSONValue(parsing: [0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22]) == .string("é😀"))
    }

    @Test func whitespaceIsOnlyTheFourJSONCharacters() {
        #expect(kumoErrorMessage { _ = try JSONValue(parsing: "\u{A0}1") } != nil)
        #expect(kumoErrorMessage { _ = try JSONValue(parsing: "1\u{0B}") } != nil)
        #expect(kumoErrorMessage { _ = try JSONValue(parsing: "\u{C}1") } != nil)
    }
}
