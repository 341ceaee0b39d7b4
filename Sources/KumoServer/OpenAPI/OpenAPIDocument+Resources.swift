import KumoAPI
import KumoModel

/// Each kind's own operations: list/watch and create on its collection, read/replace/patch/delete on an object,
/// its history — with the kind's schema as body and answer, as Kubernetes' per-resource paths are described.
extension OpenAPIDocument {
    static let resourceRoutes: Set<APIRoute> = [
        .clusterCollection, .clusterObject, .clusterObjectHistory, .projectCollection, .projectObject, .projectObjectHistory,
    ]

    static func resourceOperations(_ endpoint: APIEndpoint) -> JSONValue {
        let kind = endpoint.kind!
        switch endpoint.route {
        case .clusterCollection: return collectionOps(kind, scoped: false)
        case .projectCollection: return collectionOps(kind, scoped: true)
        case .clusterObject: return objectOps(kind, scoped: false)
        case .projectObject: return objectOps(kind, scoped: true)
        case .clusterObjectHistory: return historyOps(kind, scoped: false)
        default: return historyOps(kind, scoped: true)
        }
    }

    /// `listWorkloads`, `createWorkload`, `readWorkload`, … for resource routes; `getHealthz`, `postTokens`,
    /// `putNodeLease`, … (method + route) for the others. Stable: a generated client's method names.
    static func operationID(_ endpoint: APIEndpoint, _ method: String) -> String {
        guard let kind = endpoint.kind, resourceRoutes.contains(endpoint.route) else {
            return method + capitalized(String(describing: endpoint.route))
        }
        // events live at both scopes: their project operations say so
        let inProject = kind.scope == .either && [.projectCollection, .projectObject, .projectObjectHistory].contains(endpoint.route)
        let one = kind.rawValue + (inProject ? "InProject" : "")
        let many = capitalized(kind.plural) + (inProject ? "InProject" : "")
        switch (endpoint.route, method) {
        case (.clusterCollection, "get"): return kind.scope == .project ? "list\(many)InAllProjects" : "list\(many)"
        case (.projectCollection, "get"): return "list\(many)"
        case (_, "post"): return "create\(one)"
        case (_, "get") where endpoint.route == .clusterObjectHistory || endpoint.route == .projectObjectHistory:
            return "read\(kind.rawValue)History" + (inProject ? "InProject" : "")
        case (_, "get"): return "read\(one)"
        case (_, "put"): return "replace\(one)"
        case (_, "patch"): return "patch\(one)"
        case (_, "delete"): return "delete\(one)"
        default: return method + one
        }
    }

    static func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    /// `<Kind>List`: a page of one kind.
    static func listSchema(_ kind: Kind) -> JSONValue {
        [
            "type": "object", "required": ["items"],
            "properties": [
                "apiVersion": ["type": "string"], "kind": ["type": "string", "enum": ["List"]],
                "metadata": ["type": "object", "properties": ["revision": ["type": "string"], "continue": ["type": "string"]]],
                "items": ["type": "array", "items": ref(kind.rawValue)],
            ],
        ]
    }

    static func objectNameParam(_ kind: Kind) -> JSONValue {
        kind == .image ? imageNameParam : param("name", "path", "\(kind.rawValue) name")
    }

    /// OpenAPI links from a create (201) to the operations on the object it made, so a client or a stateful
    /// fuzzer can follow them: same project, the name the server answered.
    static func createdObjectLinks(_ kind: Kind, scoped: Bool) -> JSONValue {
        let route: (object: APIRoute, history: APIRoute) =
            scoped ? (.projectObject, .projectObjectHistory) : (.clusterObject, .clusterObjectHistory)
        var parameters: [String: JSONValue] = ["name": "$response.body#/metadata/name"]
        if scoped { parameters["project"] = "$request.path.project" }
        var links: [String: JSONValue] = [:]
        for (name, endpointRoute, method) in [
            ("Read", route.object, "get"), ("Replace", route.object, "put"), ("Patch", route.object, "patch"),
            ("Delete", route.object, "delete"), ("History", route.history, "get"),
        ] {
            let endpoint = APIEndpoint(route: endpointRoute, kind: kind, path: "", methods: [])
            links[name] = ["operationId": .string(operationID(endpoint, method)), "parameters": .object(parameters)]
        }
        return .object(links)
    }

    static func collectionOps(_ kind: Kind, scoped: Bool) -> JSONValue {
        let base: [JSONValue] = scoped ? [projectParam] : []
        let listParams =
            base + [
                param("labelSelector", "query", "e.g. `app=web,tier!=db,env in (a,b)`"),
                param("fieldSelector", "query", "e.g. `spec.nodeName=n1`"),
                param("limit", "query", "page size", type: "integer"),
                param("continue", "query", "token from the previous page's metadata.continue"),
                param("watch", "query", "stream changes as newline-delimited JSON", type: "boolean"),
                param("since", "query", "with watch: replay changes after this revision (410 if compacted)"),
            ]
        let plural = kind.plural
        var ops: [String: JSONValue] = [
            "get": op(
                scoped || kind.scope != .project
                    ? "List or watch \(plural)" : "List or watch \(plural) across all projects",
                params: listParams,
                ok: ("200", response("a \(kind.rawValue)List, or with watch=true a stream of WatchEvent lines", kind.rawValue + "List")))
        ]
        if scoped || kind.scope != .project {
            ops["post"] = op(
                "Create a \(kind.rawValue)", params: base + [managerParam], body: kind.rawValue,
                ok: ("201", withLinks(response("created", kind.rawValue), createdObjectLinks(kind, scoped: scoped))))
        }
        return .object(ops)
    }

    static func objectOps(_ kind: Kind, scoped: Bool) -> JSONValue {
        let base: [JSONValue] = (scoped ? [projectParam] : []) + [objectNameParam(kind)]
        let one = kind.rawValue
        return [
            "get": op("Read a \(one)", params: base, ok: ("200", response("the \(one)", one))),
            "put": op(
                "Replace a \(one) (a body without status keeps the stored status; metadata.resourceVersion is a precondition)",
                params: base + [managerParam, forceParam], body: one, ok: ("200", response("updated", one))),
            "patch": op(
                "JSON merge patch (RFC 7386), or server-side apply with Content-Type application/apply-patch+json",
                params: base + [managerParam, forceParam], body: one, bodyType: mergePatchContentType,
                ok: ("200", response("patched", one)),
                also: ["201": response("created (server-side apply of a \(one) that did not exist)", one)]),
            "delete": op(
                "Delete a \(one)" + deleteNote(kind),
                params: base + [
                    managerParam, param("cascade", "query", "delete a project with everything in it", type: "boolean"),
                    param("resourceVersion", "query", "precondition"),
                    param("force", "query", "delete a bound replica at once, without waiting for its agent", type: "boolean"),
                ],
                ok: ("200", response("the deleted \(one)" + (kind == .replica || kind == .instance ? ", or marked Terminating" : ""), one))),
        ]
    }

    static func deleteNote(_ kind: Kind) -> String {
        switch kind {
        case .project: " (one that holds objects needs cascade=true)"
        case .replica, .instance:
            ". One bound to a node is deleted gracefully: marked Terminating (metadata.deletionTimestamp) until its agent has stopped it"
        default: ""
        }
    }

    static func historyOps(_ kind: Kind, scoped: Bool) -> JSONValue {
        let base: [JSONValue] = (scoped ? [projectParam] : []) + [objectNameParam(kind)]
        return [
            "get": op(
                "Every recorded change of a \(kind.rawValue): revision, time, manager, RFC 6902 patch",
                params: base + [param("limit", "query", "newest N", type: "integer")],
                ok: ("200", response("history", "History")))
        ]
    }
}
