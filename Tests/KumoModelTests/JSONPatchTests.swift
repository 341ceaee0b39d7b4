import Foundation
import KumoModel
import KumoTestSupport
import Testing

@Suite("JSON patch (RFC 6902) and JSON pointer (RFC 6901)")
struct JSONPatchTests {
    private func apply(_ patch: String, to document: String) throws(KumoError) -> JSONValue {
        try JSONPatch.apply(try JSONPatch.operations(from: parsedJSON(patch)), to: parsedJSON(document))
    }

    // MARK: - RFC 6902 Appendix A

    @Test func a1AddingAnObjectMember() throws {
        #expect(
            try apply(#"[{"op":"add","path":"/baz","value":"qux"}]"#, to: #"{"foo":"bar"}"#)
                == parsedJSON(#"{"baz":"qux","foo":"bar"}"#))
    }

    @Test func a2AddingAnArrayElement() throws {
        #expect(
            try apply(#"[{"op":"add","path":"/foo/1","value":"qux"}]"#, to: #"{"foo":["bar","baz"]}"#)
                == parsedJSON(#"{"foo":["bar","qux","baz"]}"#))
    }

    @Test func a3RemovingAnObjectMember() throws {
        #expect(
            try apply(#"[{"op":"remove","path":"/baz"}]"#, to: #"{"baz":"qux","foo":"bar"}"#)
                == parsedJSON(#"{"foo":"bar"}"#))
    }

    @Test func a4RemovingAnArrayElement() throws {
        #expect(
            try apply(#"[{"op":"remove","path":"/foo/1"}]"#, to: #"{"foo":["bar","qux","baz"]}"#)
                == parsedJSON(#"{"foo":["bar","baz"]}"#))
    }

    @Test func a5ReplacingAValue() throws {
        #expect(
            try apply(#"[{"op":"replace","path":"/baz","value":"boo"}]"#, to: #"{"baz":"qux","foo":"bar"}"#)
                == parsedJSON(#"{"baz":"boo","foo":"bar"}"#))
    }

    @Test func a6MovingAValue() throws {
        #expect(
            try apply(
                #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
                to: #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#)
                == parsedJSON(#"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#))
    }

    @Test func a7MovingAnArrayElement() throws {
        #expect(
            try apply(#"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, to: #"{"foo":["all","grass","cows","eat"]}"#)
                == parsedJSON(#"{"foo":["all","cows","eat","grass"]}"#))
    }

    @Test func a8TestingAValueSuccess() throws {
        let doc = #"{"baz":"qux","foo":["a",2,"c"]}"#
        #expect(
            try apply(#"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#, to: doc)
                == parsedJSON(doc))
    }

    @Test func a9TestingAValueError() {
        let message = kumoErrorMessage {
            _ = try apply(#"[{"op":"test","path":"/baz","value":"bar"}]"#, to: #"{"baz":"qux"}"#)
        }
        #expect(message == #"invalid JSON patch operation 0 (test "/baz"): test failed: the value is "qux", not "bar""#)
    }

    @Test func a10AddingANestedMemberObject() throws {
        #expect(
            try apply(#"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#, to: #"{"foo":"bar"}"#)
                == parsedJSON(#"{"foo":"bar","child":{"grandchild":{}}}"#))
    }

    @Test func a11IgnoringUnrecognizedElements() throws {
        #expect(
            try apply(#"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#, to: #"{"foo":"bar"}"#)
                == parsedJSON(#"{"foo":"bar","baz":"qux"}"#))
    }

    @Test func a12AddingToANonexistentTarget() {
        let message = kumoErrorMessage {
            _ = try apply(#"[{"op":"add","path":"/baz/bat","value":"qux"}]"#, to: #"{"foo":"bar"}"#)
        }
        #expect(message == #"invalid JSON patch operation 0 (add "/baz/bat"): path does not exist"#)
    }

    @Test func a13InvalidJSONPatchDocument() {
        // The duplicate "op" member is rejected by the parser.
        let message = kumoErrorMessage {
            _ = try JSONValue(parsing: #"[{"op":"add","path":"/baz","value":"qux","op":"remove"}]"#)
        }
        #expect(message?.hasPrefix("malformed JSON: duplicate key \"op\"") == true)
    }

    @Test func a14TildeEscapeOrdering() throws {
        let doc = #"{"/":9,"~1":10}"#
        #expect(try apply(#"[{"op":"test","path":"/~01","value":10}]"#, to: doc) == parsedJSON(doc))
    }

    @Test func a15ComparingStringsAndNumbers() {
        let message = kumoErrorMessage {
            _ = try apply(#"[{"op":"test","path":"/~01","value":"10"}]"#, to: #"{"/":9,"~1":10}"#)
        }
        #expect(message?.contains("test failed") == true)
    }

    @Test func a16AddingAnArrayValue() throws {
        #expect(
            try apply(#"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, to: #"{"foo":["bar"]}"#)
                == parsedJSON(#"{"foo":["bar",["abc","def"]]}"#))
    }

    // MARK: - More apply behaviour

    @Test func rootOperations() throws {
        #expect(try JSONPatch.apply([.add("", [1])], to: ["a": 1]) == [1])
        #expect(try JSONPatch.apply([.replace("", "x")], to: ["a": 1]) == "x")
        #expect(try JSONPatch.apply([.test("", ["a": 1])], to: ["a": 1]) == ["a": 1])
        #expect(
            kumoErrorMessage { _ = try JSONPatch.apply([.remove("")], to: ["a": 1]) }?.contains(
                "cannot remove the whole document") == true)
        #expect(try JSONPatch.apply([.copy(from: "/a", to: "")], to: ["a": [2]]) == [2])
        #expect(try JSONPatch.apply([.move(from: "/a", to: "")], to: ["a": [2]]) == [2])
    }

    @Test func copyAndMove() throws {
        let doc: JSONValue = ["a": ["b": [1, 2]], "c": "x"]
        #expect(
            try JSONPatch.apply([.copy(from: "/a/b", to: "/d")], to: doc) == [
                "a": ["b": [1, 2]], "c": "x", "d": [1, 2],
            ])
        #expect(
            try JSONPatch.apply([.copy(from: "/a/b/1", to: "/a/b/0")], to: doc) == ["a": ["b": [2, 1, 2]], "c": "x"])
        #expect(try JSONPatch.apply([.move(from: "/c", to: "/a/c")], to: doc) == ["a": ["b": [1, 2], "c": "x"]])
        #expect(try JSONPatch.apply([.move(from: "/a", to: "/a")], to: doc) == doc)
        #expect(try JSONPatch.apply([.move(from: "/a/b/0", to: "/a/b/-")], to: doc) == ["a": ["b": [2, 1]], "c": "x"])
    }

    @Test func replaceAndRemoveInArrays() throws {
        let doc: JSONValue = ["a": [1, 2, 3]]
        #expect(try JSONPatch.apply([.replace("/a/0", 9)], to: doc) == ["a": [9, 2, 3]])
        #expect(try JSONPatch.apply([.remove("/a/2")], to: doc) == ["a": [1, 2]])
        #expect(try JSONPatch.apply([.add("/a/3", 4)], to: doc) == ["a": [1, 2, 3, 4]])
        #expect(try JSONPatch.apply([.add("/a/0", 0)], to: doc) == ["a": [0, 1, 2, 3]])
    }

    @Test func operationsApplyInSequenceAndFailAsAWhole() throws {
        let doc: JSONValue = ["a": 1]
        let patch: [JSONPatchOperation] = [.add("/b", 2), .remove("/a"), .test("/b", 2), .add("/c", ["d": nil])]
        #expect(try JSONPatch.apply(patch, to: doc) == ["b": 2, "c": ["d": nil]])
        let failing: [JSONPatchOperation] = [.add("/b", 2), .remove("/zzz")]
        do {
            _ = try JSONPatch.apply(failing, to: doc)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalid)
            #expect(error.field == "/zzz")
            #expect(error.message == #"invalid JSON patch operation 1 (remove "/zzz"): path does not exist"#)
        }
    }

    @Test func errorsNameThePath() {
        let doc: JSONValue = ["a": [1, 2], "s": "x", "o": ["k": 1]]
        let cases: [(JSONPatchOperation, String)] = [
            (.remove("/a/2"), #"operation 0 (remove "/a/2"): array index 2 is out of bounds (count 2)"#),
            (.remove("/a/-"), #"operation 0 (remove "/a/-"): "-" is not a valid array index"#),
            (.replace("/a/01", 1), #"operation 0 (replace "/a/01"): "01" is not a valid array index"#),
            (.add("/a/3", 1), #"operation 0 (add "/a/3"): array index 3 is out of bounds (count 2)"#),
            (.add("/a/x", 1), #"operation 0 (add "/a/x"): "x" is not a valid array index"#),
            (.add("/s/x", 1), #"operation 0 (add "/s/x"): the parent is not an object or array"#),
            (.replace("/missing", 1), #"operation 0 (replace "/missing"): path does not exist"#),
            (.test("/o/k/deeper", 1), #"operation 0 (test "/o/k/deeper"): path does not exist"#),
            (
                .move(from: "/o", to: "/o/k2"),
                #"operation 0 (move "/o/k2"): cannot move a value into one of its own children"#
            ),
            (.move(from: "/nope", to: "/b"), #"operation 0 (move "/b"): "from" location "/nope" does not exist"#),
            (.copy(from: "/nope", to: "/b"), #"operation 0 (copy "/b"): "from" location "/nope" does not exist"#),
            (JSONPatchOperation(op: .add, path: "/b"), #"operation 0 (add "/b"): missing "value" member"#),
            (JSONPatchOperation(op: .move, path: "/b"), #"operation 0 (move "/b"): missing "from" member"#),
            (.add("b", 1), #"operation 0 (add "b"): invalid JSON pointer "b": must be empty or start with '/'"#),
            (
                .add("/a~2", 1),
                #"operation 0 (add "/a~2"): invalid JSON pointer "/a~2": '~' must be followed by '0' or '1'"#
            ),
        ]
        for (op, expected) in cases {
            #expect(kumoErrorMessage { _ = try JSONPatch.apply([op], to: doc) } == "invalid JSON patch " + expected)
        }
    }

    @Test func patchDocumentReadingErrors() {
        #expect(
            kumoErrorMessage { _ = try JSONPatch.operations(from: parsedJSON("{}")) }
                == "invalid JSON patch: must be an array of operations")
        #expect(
            kumoErrorMessage { _ = try JSONPatch.operations(from: parsedJSON(#"[{"op":"frob","path":""}]"#)) }
                == #"invalid JSON patch: operation 0: invalid JSON patch operation: unknown op "frob""#)
        #expect(
            kumoErrorMessage { _ = try JSONPatch.operations(from: parsedJSON(#"[{"op":"add"}]"#)) }
                == #"invalid JSON patch: operation 0: invalid JSON patch operation: "path" must be a string"#)
        #expect(
            kumoErrorMessage { _ = try JSONPatch.operations(from: parsedJSON(#"[1]"#)) }
                == "invalid JSON patch: operation 0: invalid JSON patch operation: must be an object")
    }

    @Test func applyDoesNotChangeTheInput() throws {
        let doc: JSONValue = ["a": ["b": [1, 2, 3]]]
        let copy = doc
        _ = try JSONPatch.apply([.remove("/a/b/0"), .add("/a/c", 1)], to: doc)
        #expect(doc == copy)
        #expect(doc == ["a": ["b": [1, 2, 3]]])
    }

    // MARK: - Diff

    @Test func diffIsMinimalAndSorted() {
        let a = parsedJSON(#"{"b":1,"a":1,"n":{"x":1,"y":[1,2]},"s/t":1}"#)
        let b = parsedJSON(#"{"a":2,"c":3,"n":{"x":1,"y":[1,2,3]},"s/t":{"u":1}}"#)
        #expect(
            JSONPatch.diff(from: a, to: b) == [
                .replace("/a", 2), .remove("/b"), .add("/c", 3), .replace("/n/y", [1, 2, 3]),
                .replace("/s~1t", ["u": 1]),
            ])
        #expect(JSONPatch.diff(from: a, to: a) == [])
        #expect(JSONPatch.diff(from: 1, to: "x") == [.replace("", "x")])
        #expect(JSONPatch.diff(from: [1], to: [2]) == [.replace("", [2])])
        #expect(JSONPatch.diff(from: ["a": 1], to: [1]) == [.replace("", [1])])
        #expect(JSONPatch.diff(from: ["a": nil], to: ["a": 0]) == [.replace("/a", 0)])
        #expect(JSONPatch.diff(from: [:], to: ["a": nil]) == [.add("/a", nil)])
    }

    @Test func diffOutputIsDeterministic() {
        var random = RandomJSON(seed: 17)
        for _ in 0..<200 {
            let a = random.value()
            let b = random.mutate(a)
            let ops = JSONPatch.diff(from: a, to: b)
            #expect(JSONPatch.json(ops).serialized() == JSONPatch.json(JSONPatch.diff(from: a, to: b)).serialized())
        }
    }

    @Test func applyOfDiffGivesTheTarget() throws {
        var random = RandomJSON(seed: 2024)
        for i in 0..<5000 {
            let a = random.value(depth: 5)
            let b = i % 3 == 0 ? random.value(depth: 5) : random.mutate(a)
            let ops = JSONPatch.diff(from: a, to: b)
            #expect(try JSONPatch.apply(ops, to: a) == b, "a=\(a.jsonString) b=\(b.jsonString)")
            if a == b { #expect(ops.isEmpty) }
            // The patch survives its own JSON form.
            #expect(try JSONPatch.operations(from: JSONValue(parsing: JSONPatch.json(ops).serialized())) == ops)
        }
    }

    // MARK: - Operation encoding

    @Test func operationEncodingOmitsAbsentMembers() throws {
        #expect(JSONPatchOperation.remove("/a").json.jsonString == #"{"op":"remove","path":"/a"}"#)
        #expect(JSONPatchOperation.add("/a", nil).json.jsonString == #"{"op":"add","path":"/a","value":null}"#)
        #expect(
            JSONPatchOperation.move(from: "/a", to: "/b").json.jsonString == #"{"from":"/a","op":"move","path":"/b"}"#)

        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func encoded(_ op: JSONPatchOperation) throws -> String {
            String(decoding: try encoder.encode(op), as: UTF8.self)
        }
        #expect(try encoded(.remove("/a")) == #"{"op":"remove","path":"\/a"}"#)
        #expect(try encoded(.add("/a", nil)) == #"{"op":"add","path":"\/a","value":null}"#)
        #expect(try encoded(.copy(from: "/x", to: "/y")) == #"{"from":"\/x","op":"copy","path":"\/y"}"#)
        #expect(try encoded(.test("/n", 3)) == #"{"op":"test","path":"\/n","value":3}"#)
    }

    @Test func operationDecodingKeepsAPresentNull() throws {
        let decoder = JSONDecoder()
        let withNull = try decoder.decode(
            JSONPatchOperation.self, from: Data(#"{"op":"add","path":"/a","value":null}"#.utf8))
        #expect(withNull == .add("/a", .null))
        let without = try decoder.decode(JSONPatchOperation.self, from: Data(#"{"op":"remove","path":"/a"}"#.utf8))
        #expect(without == .remove("/a"))
        #expect(without.value == nil)
        let ops = try decoder.decode(
            [JSONPatchOperation].self,
            from: Data(#"[{"op":"move","from":"/a","path":"/b"},{"op":"replace","path":"/c","value":{"d":[1]}}]"#.utf8))
        #expect(ops == [.move(from: "/a", to: "/b"), .replace("/c", ["d": [1]])])
        #expect(throws: DecodingError.self) {
            try decoder.decode(JSONPatchOperation.self, from: Data(#"{"op":"frob","path":"/a"}"#.utf8))
        }
        // And through the JSONValue form.
        #expect(try JSONPatchOperation(json: parsedJSON(#"{"op":"add","path":"/a","value":null}"#)) == .add("/a", nil))
    }

    // MARK: - JSON pointer

    @Test func pointerEscaping() throws {
        #expect(JSONPointer.escape("a/b~c") == "a~1b~0c")
        #expect(JSONPointer.escape("plain") == "plain")
        #expect(try JSONPointer.unescape("a~1b~0c") == "a/b~c")
        #expect(try JSONPointer.unescape("~01") == "~1")
        #expect(kumoErrorMessage { _ = try JSONPointer.unescape("a~") } != nil)
        #expect(kumoErrorMessage { _ = try JSONPointer.unescape("~2") } != nil)
        for token in ["", "~", "/", "~0", "~1", "a/~b", "日本/~"] {
            #expect(try JSONPointer.unescape(JSONPointer.escape(token)) == token)
        }
        #expect(try JSONPointer.parse("") == [])
        #expect(try JSONPointer.parse("/") == [""])
        #expect(try JSONPointer.parse("/a~1b/0/") == ["a/b", "0", ""])
        #expect(JSONPointer.format(["a/b", "0", ""]) == "/a~1b/0/")
        #expect(JSONPointer.appending("m~n", to: "/x") == "/x/m~0n")
        #expect(kumoErrorMessage { _ = try JSONPointer.parse("a") } != nil)
    }

    @Test func rfc6901Examples() throws {
        let doc = parsedJSON(
            #"{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\j":5,"k\"l":6," ":7,"m~n":8}"#)
        let cases: [(String, JSONValue)] = [
            ("", doc), ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/", 0), ("/a~1b", 1), ("/c%d", 2),
            ("/e^f", 3), ("/g|h", 4), (#"/i\j"#, 5), (#"/k"l"#, 6), ("/ ", 7), ("/m~0n", 8),
        ]
        for (pointer, expected) in cases {
            #expect(JSONPatch.value(at: try JSONPointer.parse(pointer), in: doc) == expected, "\(pointer)")
        }
        #expect(JSONPatch.value(at: try JSONPointer.parse("/foo/2"), in: doc) == nil)
        #expect(JSONPatch.value(at: try JSONPointer.parse("/foo/-"), in: doc) == nil)
    }
}
