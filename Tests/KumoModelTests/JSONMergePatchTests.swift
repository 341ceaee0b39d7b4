import KumoModel
import Testing

@Suite("JSON merge patch (RFC 7386)")
struct JSONMergePatchTests {
    /// RFC 7386 Appendix A: original, patch, result.
    static let rfcExamples: [(String, String, String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, #"null"#, #"null"#),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ]

    @Test(arguments: rfcExamples.indices)
    func rfcAppendixA(_ index: Int) {
        let (original, patch, result) = Self.rfcExamples[index]
        #expect(JSONMergePatch.apply(parsedJSON(patch), to: parsedJSON(original)) == parsedJSON(result))
    }

    @Test func rfcSection3Example() {
        let target = parsedJSON(
            """
            {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
             "tags": ["example", "sample"], "content": "This will be unchanged"}
            """)
        let patch = parsedJSON(
            """
            {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]}
            """)
        let expected = parsedJSON(
            """
            {"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
             "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}
            """)
        #expect(JSONMergePatch.apply(patch, to: target) == expected)
    }

    @Test func patchLeavesUnmentionedMembersAlone() {
        // The incident in DESIGN.md: a patch to one annotation must not drop another's.
        let node = parsedJSON(#"{"metadata":{"annotations":{"a":"1","b":"2"}},"spec":{"podCIDR":"10.0.1.0/24"}}"#)
        let patched = JSONMergePatch.apply(parsedJSON(#"{"metadata":{"annotations":{"b":"3"}}}"#), to: node)
        #expect(
            patched == parsedJSON(#"{"metadata":{"annotations":{"a":"1","b":"3"}},"spec":{"podCIDR":"10.0.1.0/24"}}"#))
    }

    @Test func diffProducesMinimalPatches() {
        let a = parsedJSON(#"{"a":1,"b":{"c":2,"d":3},"e":[1,2],"f":"x"}"#)
        let b = parsedJSON(#"{"a":1,"b":{"c":2,"d":4},"e":[1],"g":{"h":true}}"#)
        #expect(JSONMergePatch.diff(from: a, to: b) == parsedJSON(#"{"b":{"d":4},"e":[1],"f":null,"g":{"h":true}}"#))
        #expect(JSONMergePatch.diff(from: a, to: a) == parsedJSON("{}"))
        #expect(JSONMergePatch.diff(from: a, to: parsedJSON("[1]")) == parsedJSON("[1]"))
        #expect(JSONMergePatch.diff(from: parsedJSON("[1]"), to: a) == a)
        #expect(JSONMergePatch.diff(from: .null, to: a) == a)
        #expect(JSONMergePatch.diff(from: a, to: .null) == .null)
        #expect(JSONMergePatch.diff(from: "x", to: 3) == 3)
        // Type change of a member from a scalar to an object.
        #expect(
            JSONMergePatch.diff(from: parsedJSON(#"{"a":1}"#), to: parsedJSON(#"{"a":{"b":2}}"#))
                == parsedJSON(#"{"a":{"b":2}}"#))
    }

    @Test func diffTreatsNullMembersAsAbsent() {
        // A member set to null in `to` cannot be expressed; it becomes a removal (or is left out).
        #expect(
            JSONMergePatch.diff(from: parsedJSON(#"{"a":1}"#), to: parsedJSON(#"{"a":null}"#))
                == parsedJSON(#"{"a":null}"#))
        #expect(JSONMergePatch.diff(from: parsedJSON(#"{}"#), to: parsedJSON(#"{"a":null}"#)) == parsedJSON("{}"))
        #expect(
            JSONMergePatch.diff(from: parsedJSON(#"1"#), to: parsedJSON(#"{"a":{"b":null,"c":1}}"#))
                == parsedJSON(#"{"a":{"c":1}}"#))
    }

    @Test func applyOfDiffRestoresTheTarget() {
        var random = RandomJSON(seed: 99, nullMembers: false)
        for _ in 0..<3000 {
            let a = random.value(depth: 4)
            let b = Bool.random(using: &random.rng) ? random.mutate(a) : random.value(depth: 4)
            let patch = JSONMergePatch.diff(from: a, to: b)
            #expect(JSONMergePatch.apply(patch, to: a) == b, "a=\(a.jsonString) b=\(b.jsonString)")
        }
    }

    @Test func applyOfDiffRestoresTheTargetUpToNullMembers() {
        var random = RandomJSON(seed: 5, nullMembers: true)
        for _ in 0..<2000 {
            let a = random.value(depth: 4)
            let b = random.mutate(a)
            let result = JSONMergePatch.apply(JSONMergePatch.diff(from: a, to: b), to: a)
            #expect(withoutNullMembers(result) == withoutNullMembers(b), "a=\(a.jsonString) b=\(b.jsonString)")
        }
    }

    private func withoutNullMembers(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): .object(o.filter { !$0.value.isNull }.mapValues(withoutNullMembers))
        case .array(let a): .array(a.map(withoutNullMembers))
        default: v
        }
    }
}
