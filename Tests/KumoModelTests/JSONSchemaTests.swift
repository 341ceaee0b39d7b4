import Testing

@testable import KumoModel

@Suite("JSON schemas read off the model's types")
struct JSONSchemaTests {
    static let samples: [(Kind, JSONValue)] = [
        (.node, KindSamples.node), (.project, KindSamples.project), (.image, KindSamples.image),
        (.workload, KindSamples.workload), (.replica, KindSamples.replica), (.instance, KindSamples.instance),
        (.service, KindSamples.service), (.secret, KindSamples.secret), (.event, KindSamples.event),
    ]

    @Test("every kind has a schema, and its canonical sample object conforms to it")
    func samplesConform() throws {
        #expect(Self.samples.map(\.0) == Kind.allCases)
        for (kind, sample) in Self.samples {
            let schema = try kind.objectSchema()
            let canonical = try kind.canonicalize(sample)
            let problems = SchemaCheck.problems(canonical, schema, at: kind.rawValue)
            #expect(problems.isEmpty, "\(kind): \(problems)")
        }
    }

    @Test("the schema says what the type says: required and optional fields, enums, maps, arrays, quantities")
    func workloadShape() throws {
        let schema = try Kind.workload.objectSchema()
        let spec = try #require(schema["properties"]?["spec"])
        #expect(spec["type"] == "object")
        #expect(spec["additionalProperties"] == .bool(false))
        #expect(spec["required"]?.arrayValue?.contains("replicas") == true)
        #expect(spec["required"]?.arrayValue?.contains("strategy") == false)
        #expect(spec["properties"]?["replicas"]?["type"] == "integer")
        let replica = try #require(spec["properties"]?["template"]?["properties"]?["spec"]?["properties"])
        #expect(replica["restartPolicy"]?["enum"] == .array(RestartPolicy.allCases.map { .string($0.rawValue) }))
        #expect(replica["command"]?["items"]?["type"] == "string")
        #expect(replica["nodeSelector"]?["additionalProperties"]?["type"] == "string")
        #expect(replica["resources"]?["properties"]?["cpu"]?["anyOf"] != nil)
        #expect(schema["properties"]?["kind"]?["enum"] == ["Workload"])
        #expect(schema["properties"]?["metadata"]?["properties"]?["labels"]?["additionalProperties"]?["type"] == "string")
        #expect(schema["required"] == ["metadata"])
    }

    @Test("a field the schema does not list is caught by the check (the check can fail)")
    func checkCatchesUnknownFields() throws {
        let schema = try Kind.workload.objectSchema()
        let canonical = try Kind.workload.canonicalize(KindSamples.workload)
        let bad = canonical.settingField(["spec", "surprise"], to: .bool(true))
            .settingField(["spec", "replicas"], to: .string("three"))
        let problems = SchemaCheck.problems(bad, schema, at: "Workload")
        #expect(problems.contains { $0.contains("spec.surprise") })
        #expect(problems.contains { $0.contains("spec.replicas") })
    }

    @Test("a type the probe cannot answer is an error naming it, not a crash")
    func recursiveTypeIsAnError() {
        final class Loop: Decodable { var next: Loop? }
        #expect(throws: KumoError.self) { try JSONSchema.of(Loop.self) }
    }
}

/// A small validator for the schema subset `JSONSchema` writes (type, properties, required,
/// additionalProperties, items, enum, anyOf).
enum SchemaCheck {
    static func problems(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
        if let options = schema["anyOf"]?.arrayValue {
            return options.contains { problems(value, $0, at: path).isEmpty } ? [] : ["\(path): matches no anyOf option"]
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) { return ["\(path): \(value) not in enum"] }
        switch (schema["type"]?.stringValue, value) {
        case (nil, _): return []
        case ("string", .string), ("boolean", .bool), ("number", .number): return []
        case ("integer", .number(let n)): return n == n.rounded() ? [] : ["\(path): \(n) is not an integer"]
        case ("array", .array(let items)):
            let itemSchema = schema["items"] ?? .object([:])
            return items.enumerated().flatMap { problems($0.element, itemSchema, at: "\(path)[\($0.offset)]") }
        case ("object", .object(let members)):
            var found: [String] = []
            let properties = schema["properties"]?.objectValue ?? [:]
            for required in schema["required"]?.arrayValue ?? [] where members[required.stringValue ?? ""] == nil {
                found.append("\(path).\(required.stringValue ?? ""): required")
            }
            for (key, member) in members {
                if let property = properties[key] {
                    found += problems(member, property, at: "\(path).\(key)")
                } else if schema["additionalProperties"] == .bool(false) {
                    found.append("\(path).\(key): not in the schema")
                } else if let extra = schema["additionalProperties"], extra.objectValue != nil {
                    found += problems(member, extra, at: "\(path).\(key)")
                }
            }
            return found
        default:
            return ["\(path): expected \(schema["type"]?.stringValue ?? "?"), got \(value)"]
        }
    }
}
