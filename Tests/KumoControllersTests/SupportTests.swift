import KumoControllers
import KumoModel
import Testing

@Suite("TemplateHash, Timestamp, NameSuffixes")
struct SupportTests {
    @Test func fnvKnownVectors() {
        #expect(TemplateHash.fnv1a64([]) == 0xcbf2_9ce4_8422_2325)
        #expect(TemplateHash.fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(TemplateHash.fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
    }

    @Test func hashIsShortStableAndCanonical() {
        let a = ReplicaTemplate(labels: ["app": "web", "tier": "front"], spec: ReplicaSpec(image: "web:1"))
        var b = ReplicaTemplate(labels: ["tier": "front"], spec: ReplicaSpec(image: "web:1"))
        b.labels?["app"] = "web"
        let h = TemplateHash.of(a)
        #expect(h.count == 10)
        #expect(h.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) })
        #expect(TemplateHash.of(b) == h, "insertion order does not matter")
        #expect(TemplateHash.of(ReplicaTemplate(labels: a.labels, spec: ReplicaSpec(image: "web:2"))) != h)
        #expect(TemplateHash.of(ReplicaTemplate(labels: nil, spec: ReplicaSpec(image: "web:1"))) != h)
        // Golden: changes only if the canonical JSON of a template changes (which would roll every workload).
        #expect(
            String(decoding: encode(a).serialized(), as: UTF8.self)
                == #"{"labels":{"app":"web","tier":"front"},"spec":{"image":"web:1"}}"#)
        #expect(h == GoldenHash.webFront)
    }

    enum GoldenHash {
        /// FNV-1a 64 of the JSON above, modulo 36^10, in base 36 (computed independently).
        static let webFront = "urjlkljqin"
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00.000Z", Int64(0)),
        ("2026-01-01T00:00:00.000Z", Int64(1_767_225_600_000)),
        ("2026-11-26T16:12:46.391Z", Int64(1_795_709_566_391)),
        ("2000-02-29T23:59:59.999Z", Int64(951_868_799_999)),
        ("1969-12-31T23:59:59.500Z", Int64(-500)),
    ])
    func rfc3339RoundTrip(_ text: String, _ ms: Int64) {
        let t = Timestamp(millisecondsSinceEpoch: ms)
        #expect(t.rfc3339 == text)
        #expect(Timestamp(rfc3339: text) == t)
    }

    @Test func rfc3339Variants() {
        let t = Timestamp(rfc3339: "2026-11-26T16:12:46Z")
        #expect(t == Timestamp(rfc3339: "2026-11-26T17:12:46+01:00"))
        #expect(t == Timestamp(rfc3339: "2026-11-26t16:12:46z"))
        #expect(Timestamp(rfc3339: "2026-11-26T16:12:46.5Z") == t! + .milliseconds(500))
        #expect(Timestamp(rfc3339: "2026-11-26T16:12:46.123456789Z") == t! + .milliseconds(123))
        for bad in [
            "", "2026-11-26", "2026-11-26T16:12:46", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
            "2026-11-26T24:00:00Z", "2026-11-26T16:12:46.Z", "2026-11-26T16:12:46Zjunk", "2026-11-26T16:12:46+0100",
        ] {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad)")
        }
    }

    @Test func timeArithmetic() {
        let t = Fixtures.t0
        #expect((t + .seconds(6)) - t == .seconds(6))
        #expect(t + .milliseconds(1500) - .seconds(1) == t + .milliseconds(500))
        #expect(t < t + .milliseconds(1))
    }

    @Test func suffixesAreDeterministicAndSafe() {
        var a = NameSuffixes(seed: 7)
        var b = NameSuffixes(seed: 7)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(Set(first).count > 95)
        let alphabet = Set(NameSuffixes.alphabet)
        #expect(first.allSatisfy { $0.utf8.count == 5 && $0.utf8.allSatisfy(alphabet.contains) })
    }
}
