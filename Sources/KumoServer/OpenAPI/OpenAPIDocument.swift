import KumoAPI
import KumoDoctor
import KumoModel

/// The OpenAPI 3 document served at `/openapi.json`. Written by hand, operation by operation; a test checks that
/// every `APIRoute` and each of its methods is described here.
public enum OpenAPIDocument {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func response(_ description: String, _ schema: String? = nil, contentType: String = "application/json")
        -> JSONValue
    {
        guard let schema else { return ["description": .string(description)] }
        return [
            "description": .string(description),
            "content": .object([contentType: ["schema": ref(schema)]]),
        ]
    }

    /// The error answers every operation may give, each described once in `components/responses`.
    static let errors: [String: JSONValue] = Dictionary(
        uniqueKeysWithValues: errorResponses.keys.map { ($0, ["$ref": .string("#/components/responses/Error\($0)")]) })

    static let errorResponses: [String: JSONValue] = [
        "400": response("malformed request (JSON, query parameter)", "Error"),
        "401": response("missing or unknown token", "Error"),
        "403": response("the token may not do this", "Error"),
        "404": response("not found", "Error"),
        "409": response("already exists, stale resourceVersion, or a field owned by another manager", "Error"),
        "413": response("request body over 3 MiB", "Error"),
        "422": response("semantically invalid object (field names the problem)", "Error"),
        "429": response("too many failed authentications from this address: retry later", "Error"),
    ]

    static func param(_ name: String, _ location: String = "query", _ description: String, type: String = "string")
        -> JSONValue
    {
        [
            "name": .string(name), "in": .string(location), "required": .bool(location == "path"),
            "description": .string(description), "schema": ["type": .string(type)],
        ]
    }

    static let nameParam = param("name", "path", "object name (percent-encode `/` in image names)")
    static let digestParam = param("digest", "path", "`sha256:<64 hex>`")
    static let imageNameParam = param("name", "path", "image (repository) name; percent-encode `/` (`library%2Fbusybox`)")
    static let tagParam = param("tag", "path", "image tag")
    static let projectParam = param("project", "path", "project name")
    static let managerParam = param("manager", "query", "field manager: the token's identity or a sub-name of it (`admin/tool`)")
    static let forceParam = param("force", "query", "take ownership of fields owned by other managers", type: "boolean")

    static func op(
        _ summary: String, params: [JSONValue] = [], body: String? = nil, bodyType: String = "application/json",
        ok: (String, JSONValue), also: [String: JSONValue] = [:], auth: Bool = true
    ) -> JSONValue {
        var responses = errors
        responses[ok.0] = ok.1
        responses.merge(also) { _, new in new }
        var o: [String: JSONValue] = [
            "summary": .string(summary), "parameters": .array(params), "responses": .object(responses),
        ]
        if let body {
            var content: [String: JSONValue] = [bodyType: ["schema": ref(body)]]
            if bodyType == mergePatchContentType {
                // a merge patch is any part of the object; server-side apply sends the whole of what it manages
                content[bodyType] = ["schema": ref("AnyObject")]
                content[applyPatchContentType] = ["schema": ref(body)]
            }
            o["requestBody"] = ["required": true, "content": .object(content)]
        }
        if !auth { o["security"] = [] }
        return .object(o)
    }

    static func withLinks(_ response: JSONValue, _ links: JSONValue) -> JSONValue {
        var r = response
        r["links"] = links
        return r
    }

    /// The document: one path item per `APIEndpoint` (each kind its own paths), an operationId on every
    /// operation, and each kind's object schema read off its Swift type (`Kind.objectSchema`).
    public static func document() -> JSONValue { cached }

    static let cached: JSONValue = {
        var paths: [String: JSONValue] = [:]
        for endpoint in APIEndpoint.all {
            var item = endpoint.kind != nil && resourceRoutes.contains(endpoint.route)
                ? resourceOperations(endpoint) : operations(endpoint.route)
            for method in endpoint.methods.map({ $0.lowercased() }) {
                item[method]?["operationId"] = .string(operationID(endpoint, method))
            }
            paths[endpoint.path] = item
        }
        var components = schemas.objectValue ?? [:]
        // the doctor's wire types, read off the Swift types as the kinds are
        components["DoctorReport"] = (try? JSONSchema.of(DoctorReport.self)) ?? ref("AnyObject")
        components["HealthMute"] = (try? JSONSchema.of(HealthMute.self)) ?? ref("AnyObject")
        components["HealthMuteList"] = ["type": "object", "properties": ["items": ["type": "array", "items": ref("HealthMute")]]]
        components["HealthMuteRequest"] = (try? JSONSchema.of(HealthMuteRequest.self)) ?? ref("AnyObject")
        components["ComponentStatusList"] = (try? JSONSchema.of(ComponentStatusList.self)) ?? ref("AnyObject")
        components["NodeHealthReport"] = (try? JSONSchema.of(NodeHealthReport.self)) ?? ref("AnyObject")
        for kind in Kind.allCases {
            // a kind whose type cannot be described is a bug the schema test catches; the document still serves
            components[kind.rawValue] = (try? kind.objectSchema()) ?? ref("Object")
            components[kind.rawValue + "List"] = listSchema(kind)
        }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Kumo API", "version": .string(KumoVersion.current),
                "description": "Kumo's control plane. Every request needs `Authorization: Bearer <token>` except /healthz, /readyz and /cacerts.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": .object(components),
                "responses": .object(Dictionary(uniqueKeysWithValues: errorResponses.map { ("Error" + $0.key, $0.value) })),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
            "security": [["bearer": []]],
        ]
    }()
}
