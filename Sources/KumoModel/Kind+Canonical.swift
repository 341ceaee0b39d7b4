extension Kind {
    /// Validates an object of this kind and returns its canonical JSON form.
    ///
    /// Steps: the value must be an object; `apiVersion` and `kind`, when present, must be `kumo/v1` and this
    /// kind (422 on `apiVersion` / `kind`); a missing `spec` is `{}`; the typed `Object<XSpec>` is decoded
    /// (a wrong type or missing required field is a 422 naming the field, e.g. `spec.ports[0].port`);
    /// metadata and spec are validated; the typed object is encoded back (absent fields omitted, empty
    /// `labels`/`annotations` removed, quantities in canonical form); any key present with a non-null value
    /// in the input but absent from that output is an unknown field (422, reported before other validation
    /// findings since a misspelt field usually causes them). The result includes `apiVersion` and `kind`.
    /// Canonicalizing the result again returns it unchanged.
    public func canonicalize(_ json: JSONValue) throws(KumoError) -> JSONValue {
        switch self {
        case .node: try canonicalize(json, as: NodeSpec.self)
        case .project: try canonicalize(json, as: ProjectSpec.self)
        case .image: try canonicalize(json, as: ImageSpec.self)
        case .workload: try canonicalize(json, as: WorkloadSpec.self)
        case .replica: try canonicalize(json, as: ReplicaSpec.self)
        case .instance: try canonicalize(json, as: InstanceSpec.self)
        case .service: try canonicalize(json, as: ServiceSpec.self)
        case .secret: try canonicalize(json, as: SecretSpec.self)
        case .event: try canonicalize(json, as: EventSpec.self)
        }
    }

    private func canonicalize<S: ResourceSpec>(_ json: JSONValue, as: S.Type) throws(KumoError) -> JSONValue {
        guard case .object(var object) = json else {
            throw KumoError(.invalid, "invalid \(rawValue): expected a JSON object")
        }
        var errors: [FieldError] = []
        if let v = object["apiVersion"], !v.isNull, v != .string(Kind.apiVersion) {
            errors.append(FieldError("apiVersion", "must be \"\(Kind.apiVersion)\", not \(Self.describe(v))"))
        }
        if let v = object["kind"], !v.isNull, v != .string(rawValue) {
            errors.append(FieldError("kind", "must be \"\(rawValue)\", not \(Self.describe(v))"))
        }
        if !errors.isEmpty { throw KumoError.invalid(errors, kind: rawValue) }
        object["apiVersion"] = .string(Kind.apiVersion)
        object["kind"] = .string(rawValue)
        if object["spec"] == nil || object["spec"] == .null { object["spec"] = .object([:]) }
        let input = JSONValue.object(object)

        let typed: Object<S>
        do {
            typed = try ValueTreeDecoder().decode(Object<S>.self, from: input)
        } catch {
            throw KumoError(decoding: error, kind: rawValue)
        }
        errors = MetadataValidation.validate(typed.metadata, kind: self)
        errors += typed.spec.validate(path: "spec", metadata: typed.metadata)
        if let status = typed.status { errors += S.validate(status: status, path: "status") }

        var output = KumoModel.encode(typed)
        if case .object(var meta)? = output["metadata"] {
            for key in ["labels", "annotations"] where meta[key] == .object([:]) { meta[key] = nil }
            output["metadata"] = .object(meta)
        }

        var unknown: [String] = []
        Self.collectUnknownFields(input, output, path: "", into: &unknown)
        if !unknown.isEmpty {
            let message =
                unknown.count == 1
                ? "unknown field \"\(unknown[0])\""
                : "unknown fields " + unknown.map { "\"\($0)\"" }.joined(separator: ", ")
            throw KumoError(.invalid, message, field: unknown[0])
        }
        if !errors.isEmpty { throw KumoError.invalid(errors, kind: rawValue) }
        return output
    }

    /// Key paths with a non-null value in `input` that `output` lacks (in key order).
    private static func collectUnknownFields(
        _ input: JSONValue, _ output: JSONValue, path: String, into unknown: inout [String]
    ) {
        switch (input, output) {
        case (.object(let inObject), .object(let outObject)):
            for key in inObject.keys.sorted() {
                let value = inObject[key]!
                if value.isNull { continue }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if let outValue = outObject[key] {
                    collectUnknownFields(value, outValue, path: childPath, into: &unknown)
                } else if value == .object([:])
                    && (childPath == "metadata.labels" || childPath == "metadata.annotations")
                {
                    continue  // removed on purpose
                } else {
                    unknown.append(childPath)
                }
            }
        case (.array(let inArray), .array(let outArray)) where inArray.count == outArray.count:
            for (i, value) in inArray.enumerated() {
                collectUnknownFields(value, outArray[i], path: "\(path)[\(i)]", into: &unknown)
            }
        default:
            return
        }
    }

    private static func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): "\"\(s)\""
        case .number(let n): formatQuantityNumber(n)
        case .bool(let b): String(b)
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
