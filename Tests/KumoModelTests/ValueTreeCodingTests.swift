import Testing

@testable import KumoModel

/// The JSONValue ⇄ Codable bridge behind `decode(_:as:)`, `encode(_:)` and canonicalization.
@Suite struct ValueTreeCodingTests {
    struct Sample: Codable, Equatable {
        var name: String
        var count: Int
        var big: Int64
        var ratio: Double
        var flags: [Bool]
        var nested: [[String: [Int]]]
        var optional: String?
        var raw: JSONValue
    }

    @Test func roundTripsNestedValues() throws {
        let value = Sample(
            name: "x", count: -3, big: 1 << 52, ratio: 0.25, flags: [true, false], nested: [["a": [1, 2]], [:]],
            optional: nil, raw: ["k": [1, "two", nil, false]])
        let encoded = encode(value)
        #expect(
            encoded
                == kindJSON(
                    #"{"name": "x", "count": -3, "big": 4503599627370496, "ratio": 0.25, "flags": [true, false],"#
                        + #" "nested": [{"a": [1, 2]}, {}], "raw": {"k": [1, "two", null, false]}}"#))
        #expect(try decode(encoded, as: Sample.self) == value)
        #expect(try decode(kindJSON(#"[1, "a", null]"#), as: JSONValue.self) == [1, "a", nil])
    }

    @Test func namesTheFieldOfEveryKindOfError() {
        let good = encode(
            Sample(name: "x", count: 1, big: 1, ratio: 1, flags: [], nested: [], optional: nil, raw: nil))
        func field(_ path: [String], _ value: JSONValue?) -> String? {
            do {
                _ = try decode(good.settingField(path, to: value), as: Sample.self)
                return nil
            } catch {
                return "\(error.field ?? "") \(error.message)"
            }
        }
        #expect(field(["count"], nil) == "count invalid object: count: required")
        #expect(field(["count"], .null) == "count invalid object: count: required")
        #expect(field(["count"], 1.5) == "count invalid object: count: expected integer, got 1.5")
        #expect(field(["count"], 1e300)?.hasPrefix("count invalid object: count: number") == true)
        #expect(field(["flags"], [true, 1]) == "flags[1] invalid object: flags[1]: expected boolean, got number")
        #expect(field(["flags"], [true, nil])?.hasPrefix("flags[1] ") == true)
        #expect(
            field(["nested"], [["a": [1, "2"]]])
                == "nested[0].a[1] invalid object: nested[0].a[1]: expected integer, got string")
        #expect(field(["nested"], [[1]]) == "nested[0] invalid object: nested[0]: expected object, got array")
        #expect(field(["optional"], 3) == "optional invalid object: optional: expected string, got number")
        #expect(field(["raw"], nil) == "raw invalid object: raw: required")
        #expect(field(["raw"], .null) == nil)  // JSONValue accepts null
    }

    /// JSON numbers are doubles here: UInt64.max (runc's "unlimited") parses to 2^64 and must still decode, and the
    /// tree encoder's own output for it must come back; signed 64-bit integers get no such leeway.
    @Test("signed integers are exact JSON integers: ±(2^53 − 1) at most, beyond it out of range")
    func signedIntegersStayExact() throws {
        struct Count: Codable, Equatable { var n: Int }
        #expect(try decode(jsonBytes: Array(#"{"n": 9007199254740991}"#.utf8), as: Count.self).n == 9_007_199_254_740_991)
        #expect(try decode(jsonBytes: Array(#"{"n": -9007199254740991}"#.utf8), as: Count.self).n == -9_007_199_254_740_991)
        for text in [#"{"n": 9007199254740992}"#, #"{"n": -41103506414225230}"#, #"{"n": 1e300}"#] {
            let error = #expect(throws: KumoError.self) { try decode(jsonBytes: Array(text.utf8), as: Count.self) }
            #expect(error?.field == "n", "\(text)")
            #expect(error?.message.contains("out of range") == true, "\(text)")
        }
    }

    @Test func unsignedMaxRoundTrips() throws {
        struct Limits: Codable, Equatable {
            var limit: UInt64
            var small: UInt32
            var signed: Int64?
        }
        let runc = try decode(jsonBytes: Array(#"{"limit": 18446744073709551615, "small": 4294967295}"#.utf8), as: Limits.self)
        #expect(runc == Limits(limit: .max, small: .max))
        let own = Limits(limit: .max, small: 7, signed: -(1 << 53) + 1)
        #expect(try decode(jsonBytes: encodeJSON(own), as: Limits.self) == own)
        #expect(try decode(jsonBytes: Array(#"{"limit": 9007199254740992, "small": 0}"#.utf8), as: Limits.self).limit == 1 << 53)
        #expect(throws: KumoError.self) {
            try decode(jsonBytes: Array(#"{"limit": 1, "small": 4294967296}"#.utf8), as: Limits.self)
        }
        #expect(throws: KumoError.self) {
            try decode(jsonBytes: Array(#"{"limit": 1e20, "small": 0}"#.utf8), as: Limits.self)
        }
        #expect(throws: KumoError.self) {
            try decode(jsonBytes: Array(#"{"limit": 1, "small": 0, "signed": 9223372036854775807}"#.utf8), as: Limits.self)
        }
    }
}
