import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel

extension APIHandlers {
    func collection(_ request: Request, _ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError)
        -> Response
    {
        let kind = path.kind!
        let project = path.project
        if request.method == .get {
            let filter = try listFilter(query)
            try requireOwnNodeSelector(identity, kind, filter)
            if try query.bool("watch") {
                try Authorizer.authorize(identity, .watch, kind, project: project, name: nil)
                return try await watch(kind, project: project, filter: filter, since: try query.revision("since"), identity: identity)
            }
            try Authorizer.authorize(identity, .list, kind, project: project, name: nil)
            let page = try await list(
                kind, project: project, filter: filter, limit: try query.int("limit"), continueToken: query.string("continue"), identity: identity)
            var meta: [String: JSONValue] = ["revision": .string(String(page.revision))]
            if let token = page.continueToken { meta["continue"] = .string(token) }
            let items = try await visibleToNode(page.items, kind: kind, identity: identity).map { redacted($0, for: identity) }
            return Self.json(
                .object([
                    "apiVersion": .string(Kind.apiVersion), "kind": .string("List"), "metadata": .object(meta),
                    "items": .array(items),
                ]))
        }
        // POST
        let body = try await readJSON(request)
        try Authorizer.authorize(identity, .create, kind, project: project, name: body["metadata"]?["name"]?.stringValue)
        let options = WriteOptions(manager: try identity.manager(requested: query.string("manager")))
        let created = try await core.resources.create(kind, project: project, body: body, options: options)
        return Self.json(redacted(created.object, for: identity), status: 201)
    }

    func object(_ request: Request, _ path: ResolvedPath, query: Query, identity: Identity) async throws(KumoError)
        -> Response
    {
        let ref = ObjectRef(path.kind!, project: path.project, name: path.name ?? "")
        switch request.method {
        case .get:
            try Authorizer.authorize(identity, .get, ref.kind, project: ref.project, name: ref.name)
            if ref.kind == .secret { try await requireSecretOfOwnReplica(identity, ref) }
            let object = try await core.resources.get(ref).object
            try requireBoundToOwnNode(identity, object, ref)
            return Self.json(redacted(object, for: identity))
        case .put:
            try Authorizer.authorize(identity, .update, ref.kind, project: ref.project, name: ref.name)
            let body = try await readJSON(request)
            let options = try writeOptions(identity, query)
            return Self.json(redacted(try await core.resources.update(ref, body: body, options: options).object, for: identity))
        case .patch:
            try Authorizer.authorize(identity, .patch, ref.kind, project: ref.project, name: ref.name)
            let body = try await readJSON(request)
            if let node = Authorizer.node(of: identity), ref.kind == .replica || ref.kind == .instance {
                try requireStatusOnly(body, node: node)
                try requireBoundToOwnNode(identity, try await core.resources.get(ref).object, ref)
            }
            let options = try writeOptions(identity, query)
            let contentType = request.headers[.contentType]?.lowercased() ?? mergePatchContentType
            if contentType.hasPrefix(applyPatchContentType) {
                let (result, created) = try await core.resources.apply(ref, body: body, options: options)
                var response = Self.json(redacted(result.object, for: identity), status: created ? 201 : 200)
                response.headers[Self.resultHeader] = created ? "created" : result.changed ? "configured" : "unchanged"
                return response
            }
            guard contentType.hasPrefix(mergePatchContentType) || contentType.hasPrefix("application/json") else {
                throw KumoError(
                    .badRequest,
                    "unsupported patch content type \"\(contentType)\": use \(mergePatchContentType) or \(applyPatchContentType)")
            }
            return Self.json(redacted(try await core.resources.patch(ref, patch: body, options: options).object, for: identity))
        case .delete:
            try Authorizer.authorize(identity, .delete, ref.kind, project: ref.project, name: ref.name)
            if Authorizer.node(of: identity) != nil, ref.kind == .replica || ref.kind == .instance {
                try requireBoundToOwnNode(identity, try await core.resources.get(ref).object, ref)
            }
            let options = WriteOptions(manager: try identity.manager(requested: query.string("manager")))
            let deleted = try await core.resources.delete(
                ref, precondition: try query.revision("resourceVersion"), cascade: try query.bool("cascade"),
                force: try query.bool("force"), options: options)
            if ref.kind == .image { await core.images.collectGarbageLogging() }
            return Self.json(redacted(deleted.object, for: identity))
        default:
            throw KumoError(.methodNotAllowed, "\(request.method) is not allowed here")
        }
    }

    static let resultHeader = HTTPField.Name("Kumo-Result")!

    /// Node tokens list and watch replicas/instances only with `fieldSelector=spec.nodeName=<own node>`.
    func requireOwnNodeSelector(_ identity: Identity, _ kind: Kind, _ filter: ListFilter) throws(KumoError) {
        guard let node = Authorizer.node(of: identity), kind == .replica || kind == .instance else { return }
        let ok = filter.fieldSelector?.requirements.contains {
            $0.field == "spec.nodeName" && $0.op == .equals && $0.value == node
        }
        guard ok == true else {
            throw KumoError(
                .forbidden, "\(identity.name) may list \(kind.plural) only with fieldSelector=spec.nodeName=\(node)",
                field: "fieldSelector")
        }
    }

    /// Node tokens see only the replicas/instances bound to their node.
    func requireBoundToOwnNode(_ identity: Identity, _ object: JSONValue, _ ref: ObjectRef) throws(KumoError) {
        guard let node = Authorizer.node(of: identity), ref.kind == .replica || ref.kind == .instance else { return }
        guard object["spec"]?["nodeName"]?.stringValue == node else {
            throw KumoError(.forbidden, "\(identity.name) may not access \(ref): it is not bound to node \(node)")
        }
    }

    /// Node tokens change only the status of their replicas/instances.
    func requireStatusOnly(_ patch: JSONValue, node: String) throws(KumoError) {
        for (key, value) in patch.objectValue ?? [:] {
            switch key {
            case "status": continue
            case "metadata" where (value.objectValue?.keys.allSatisfy { $0 == "resourceVersion" } ?? false): continue
            default:
                throw KumoError(.forbidden, "node/\(node) may change only status here, not \(key)", field: key)
            }
        }
    }

    func writeOptions(_ identity: Identity, _ query: Query) throws(KumoError) -> WriteOptions {
        WriteOptions(manager: try identity.manager(requested: query.string("manager")), force: try query.bool("force"))
    }

    func listFilter(_ query: Query) throws(KumoError) -> ListFilter {
        ListFilter(
            labelSelector: try query.string("labelSelector").map { s throws(KumoError) in try LabelSelector(parsing: s) },
            fieldSelector: try query.string("fieldSelector").map { s throws(KumoError) in try FieldSelector(parsing: s) })
    }

    /// `view` tokens see secrets' keys but not their values.
    func redacted(_ object: JSONValue, for identity: Identity) -> JSONValue {
        guard object["kind"]?.stringValue == Kind.secret.rawValue, !Authorizer.maySeeSecretValues(identity),
            let data = object["spec"]?["data"]?.objectValue
        else { return object }
        var copy = object
        var spec = copy["spec"]?.objectValue ?? [:]
        spec["data"] = .object(data.mapValues { _ in .string("") })
        copy["spec"] = .object(spec)
        if var meta = copy["metadata"]?.objectValue {
            var annotations = meta["annotations"]?.objectValue ?? [:]
            annotations["kumo.dev/redacted"] = "values hidden from view tokens"
            meta["annotations"] = .object(annotations)
            copy["metadata"] = .object(meta)
        }
        return copy
    }
}
