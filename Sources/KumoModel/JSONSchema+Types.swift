/// The model's scalars that read more than one JSON shape, or a string of a particular form, say so themselves.

extension IntOrPercent: SchemaDescribed {
    /// `3` or `"25%"`.
    public static var jsonSchema: JSONValue {
        ["anyOf": [["type": "integer", "minimum": 0], ["type": "string", "pattern": "^[0-9]+%$"]]]
    }
    public static var schemaSample: IntOrPercent { IntOrPercent(value: 0, isPercent: false) }
}

extension CPUQuantity: SchemaDescribed {
    /// `2`, `0.5` or `"500m"` (answered in the canonical string form).
    public static var jsonSchema: JSONValue {
        ["anyOf": [["type": "number", "minimum": 0], ["type": "string", "example": "500m"]]]
    }
    public static var schemaSample: CPUQuantity { CPUQuantity(millicores: 0) }
}

extension MemoryQuantity: SchemaDescribed {
    /// `1048576` or `"256Mi"` (answered in the canonical string form).
    public static var jsonSchema: JSONValue {
        ["anyOf": [["type": "number", "minimum": 0], ["type": "string", "example": "256Mi"]]]
    }
    public static var schemaSample: MemoryQuantity { MemoryQuantity(bytes: 0) }
}

extension IPv4Address: SchemaDescribed {
    public static var jsonSchema: JSONValue { ["type": "string", "format": "ipv4"] }
    public static var schemaSample: IPv4Address { IPv4Address(0) }
}

extension IPv4Network: SchemaDescribed {
    /// `10.244.0.0/16`.
    public static var jsonSchema: JSONValue { ["type": "string", "example": "10.244.0.0/16"] }
    public static var schemaSample: IPv4Network { IPv4Network(address: IPv4Address(0), prefixLength: 0)! }
}

extension Kind {
    /// The schema of one object of this kind (apiVersion, kind, metadata, spec, status), from its Swift type.
    public func objectSchema() throws(KumoError) -> JSONValue {
        var schema: JSONValue
        switch self {
        case .node: schema = try JSONSchema.of(Object<NodeSpec>.self)
        case .project: schema = try JSONSchema.of(Object<ProjectSpec>.self)
        case .image: schema = try JSONSchema.of(Object<ImageSpec>.self)
        case .workload: schema = try JSONSchema.of(Object<WorkloadSpec>.self)
        case .replica: schema = try JSONSchema.of(Object<ReplicaSpec>.self)
        case .instance: schema = try JSONSchema.of(Object<InstanceSpec>.self)
        case .service: schema = try JSONSchema.of(Object<ServiceSpec>.self)
        case .secret: schema = try JSONSchema.of(Object<SecretSpec>.self)
        case .event: schema = try JSONSchema.of(Object<EventSpec>.self)
        }
        // what the type cannot say: the two constants, and that a missing spec is {} and apiVersion/kind default
        schema["properties"]?["apiVersion"] = ["type": "string", "enum": [.string(Kind.apiVersion)]]
        schema["properties"]?["kind"] = ["type": "string", "enum": [.string(rawValue)]]
        schema["required"] = ["metadata"]
        schema["description"] = .string("A \(rawValue) (kumo/v1, \(scope == .cluster ? "cluster" : "project")-scoped)")
        return schema
    }
}
