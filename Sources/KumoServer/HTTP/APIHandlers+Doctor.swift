import Hummingbird
import KumoAPI
import KumoDoctor
import KumoModel

extension APIHandlers {
    /// `GET /api/v1/doctor[?target=KIND/NAME&project=P&fresh=true]`: admin sees everything (`project` only filters);
    /// a project token sees the findings about its own project's objects, node-level evidence summarized.
    func doctor(query: Query, identity: Identity) async throws(KumoError) -> Response {
        let project = try doctorProject(query.string("project"), identity)
        let target = try query.string("target").map { t throws(KumoError) in try Doctor.target(t, project: project) }
        if let target, target.kind != "Node", target.kind != "Image", target.project == nil {
            throw KumoError(.invalid, "target \(target.kind.lowercased())/\(target.name) is in a project: add project=P", field: "project")
        }
        let doctor = try core.doctor()
        let (findings, at) = try await doctor.findings(fresh: try query.bool("fresh"))
        // an admin's project filters; only a project token's view is summarized
        let summarize: Bool
        switch identity.role {
        case .admin, .system: summarize = false
        default: summarize = true
        }
        return try Self.json(Doctor.report(findings, target: target, project: project, summarize: summarize, evaluatedAt: at))
    }

    /// Admin: any project or none; a project token: its own, whatever it asked (another one is a 403).
    func doctorProject(_ asked: String?, _ identity: Identity) throws(KumoError) -> String? {
        switch identity.role {
        case .admin, .system:
            return asked
        case .project(let own, _):
            if let asked, asked != own {
                throw KumoError(.forbidden, "\(identity.name) may read the doctor's findings of project \(own) only, not \(asked)", field: "project")
            }
            return own
        default:
            throw KumoError(.forbidden, "\(identity.name) may not read the doctor's findings")
        }
    }

    func doctorMutes(_ request: Request, method: String, identity: Identity) async throws(KumoError) -> Response {
        try Authorizer.requireAdmin(identity, "mute health checks")
        let doctor = try core.doctor()
        if method == "GET" { return try Self.json(HealthMuteList(items: await doctor.listMutes())) }
        let body = try KumoModel.decode(try await readJSON(request), as: HealthMuteRequest.self)
        return try Self.json(try await doctor.mute(code: body.code, ttlSeconds: body.ttlSeconds, sticky: body.sticky ?? false, by: identity.name), status: 201)
    }

    func doctorMute(_ resolved: ResolvedPath, identity: Identity) async throws(KumoError) -> Response {
        try Authorizer.requireAdmin(identity, "unmute health checks")
        let code = resolved.name ?? ""
        _ = try Doctor.definition(code)
        guard try await core.doctor().deleteMute(code) else {
            throw KumoError(.notFound, "\(code.uppercased()) is not muted", field: "code")
        }
        return Self.json(JSONValue.object(["status": "deleted", "code": .string(code.uppercased())]))
    }

    func explain(query: Query, identity: Identity) async throws(KumoError) -> Response {
        try Authorizer.requireAdmin(identity, "read component status")
        return try Self.json(try await core.doctor().explain(query.string("component")))
    }

    /// `POST`: a node's agent reports for its own node; `GET`: its latest report (admin).
    func nodeHealth(_ request: Request, _ resolved: ResolvedPath, method: String, identity: Identity) async throws(KumoError) -> Response {
        let node = resolved.name ?? ""
        if method == "GET" {
            try Authorizer.requireAdmin(identity, "read node health reports")
            guard let r = core.healthReports.get(node) else {
                throw KumoError(.notFound, "node \"\(node)\" has sent no health report since the server started", field: "name")
            }
            return try Self.json(r)
        }
        try Authorizer.authorize(identity, .update, .node, project: nil, name: node)
        let report = try KumoModel.decode(try await readJSON(request), as: NodeHealthReport.self)
        try report.validate()
        guard (try? await core.store.get(ObjectRef(.node, project: nil, name: node).storeKey)) ?? nil != nil else {
            throw KumoError(.notFound, "node \"\(node)\" not found: register it before reporting its health", field: "name")
        }
        core.healthReports.record(report, node: node)
        return Self.json(JSONValue.object(["status": "recorded"]), status: 202)
    }
}

