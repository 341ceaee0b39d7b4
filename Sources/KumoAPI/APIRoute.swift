import Foundation
import KumoModel

/// Every route the API server answers. The server dispatches with an exhaustive `switch` over this enum and the
/// OpenAPI document must describe each case (a test checks that), so a route cannot exist undocumented.
public enum APIRoute: String, CaseIterable, Sendable {
    case healthz = "/healthz"
    case readyz = "/readyz"
    case metrics = "/metrics"
    case debugState = "/debug/state"
    case openapi = "/openapi.json"
    case version = "/version"
    /// The cluster CA bundle (PEM), unauthenticated: clients check its fingerprint against a join token's pin or
    /// show it to a person before trusting it.
    case cacerts = "/cacerts"
    /// Authentication failures and authorization denials (admin).
    case audit = "/api/v1/audit"
    case clusterCollection = "/api/v1/{kind}"
    case clusterObject = "/api/v1/{kind}/{name}"
    case clusterObjectHistory = "/api/v1/{kind}/{name}/history"
    case projectCollection = "/api/v1/projects/{project}/{kind}"
    case projectObject = "/api/v1/projects/{project}/{kind}/{name}"
    case projectObjectHistory = "/api/v1/projects/{project}/{kind}/{name}/history"
    case tokens = "/api/v1/tokens"
    case token = "/api/v1/tokens/{name}"
    case backup = "/api/v1/backup"
    case join = "/api/v1/join"
    case nodeLease = "/api/v1/nodes/{name}/lease"
    /// The agent's state dump, through the server's proxy.
    case nodeAgentState = "/api/v1/nodes/{name}/state"
    /// The agent's Prometheus metrics, through the server's proxy (agents accept only the server's client
    /// certificate, so this is how an operator or a Prometheus with an admin token scrapes them).
    case nodeAgentMetrics = "/api/v1/nodes/{name}/metrics"
    /// A replica's container log, through the server's proxy to its node's agent.
    case replicaLogs = "/api/v1/projects/{project}/replicas/{name}/logs"
    /// An instance's serial console log, through the server's proxy to its node's agent.
    case instanceConsole = "/api/v1/projects/{project}/instances/{name}/console"
    /// Which live nodes' load balancers serve a service as of a revision (the acknowledgements each agent sends with
    /// its lease, not Node writes): what a draining replica waits for.
    case serviceLoadBalancers = "/api/v1/projects/{project}/services/{name}/loadbalancers"
    case blob = "/api/v1/blobs/{digest}"
    case imageTag = "/api/v1/images/{name}/tags/{tag}"
    /// Re-seal every secret under a new key-encryption key (admin).
    case secretKeyRotation = "/api/v1/secrets/rotate-key"
    /// Health checks (`kumo doctor`): findings and ranked causes, for the cloud, a target or a project.
    case doctor = "/api/v1/doctor"
    case doctorMutes = "/api/v1/doctor/mutes"
    case doctorMute = "/api/v1/doctor/mutes/{code}"
    /// Components: responsibility, dependencies, what breaks, live status (`kumo explain`).
    case explain = "/api/v1/explain"
    /// A node agent's health report (POST, its own node) and the latest one (GET, admin).
    case nodeHealth = "/api/v1/nodes/{name}/health"

    /// The template as written in the OpenAPI document.
    public var template: String { rawValue }

    /// Methods this route answers (anything else → 405).
    public var methods: [String] {
        switch self {
        case .healthz, .readyz, .metrics, .debugState, .openapi, .version, .cacerts, .audit, .doctor, .explain: ["GET"]
        case .doctorMutes, .nodeHealth: ["GET", "POST"]
        case .doctorMute: ["DELETE"]
        case .backup: ["GET", "POST"]
        case .clusterCollection, .projectCollection, .tokens: ["GET", "POST"]
        case .clusterObject, .projectObject: ["GET", "PUT", "PATCH", "DELETE"]
        case .clusterObjectHistory, .projectObjectHistory: ["GET"]
        case .token: ["DELETE"]
        case .join, .secretKeyRotation: ["POST"]
        case .nodeLease: ["GET", "PUT"]
        case .nodeAgentState, .nodeAgentMetrics, .replicaLogs, .instanceConsole, .serviceLoadBalancers: ["GET"]
        case .blob: ["GET", "HEAD", "PUT"]
        case .imageTag: ["PUT", "DELETE"]
        }
    }
}

/// A request path resolved to a route and its parameters. Path segments are percent-decoded one by one, so an
/// image name with a slash travels as one segment (`library%2Fbusybox`) — what `APIPaths` sends. Under
/// `/api/v1/images/` a name may also be written with plain slashes (`/api/v1/images/library/busybox`): there the
/// segments after `images` are the name, up to a trailing `/history` or `/tags/{tag}` (so a repository whose
/// last component is `history`, or that has a `tags` component, must be percent-encoded).
public struct ResolvedPath: Sendable, Equatable {
    public var route: APIRoute
    public var kind: Kind?
    public var project: String?
    public var name: String?
    /// The image tag of `.imageTag`.
    public var tag: String?

    public init(route: APIRoute, kind: Kind? = nil, project: String? = nil, name: String? = nil, tag: String? = nil) {
        self.route = route
        self.kind = kind
        self.project = project
        self.name = name
        self.tag = tag
    }

    /// Resolves a raw (still percent-encoded) path; nil when nothing matches (→ 404).
    /// Throws for an unknown kind so the error can say which kinds exist.
    public static func resolve(_ rawPath: String) throws(KumoError) -> ResolvedPath? {
        var segments = rawPath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for i in segments.indices { segments[i] = try decodeSegment(segments[i]) }
        switch segments.count {
        case 1:
            return [APIRoute.healthz, .readyz, .metrics, .openapi, .version, .cacerts]
                .first { $0.rawValue == "/" + segments[0] }.map { ResolvedPath(route: $0) }
        case 2 where segments == ["debug", "state"]:
            return ResolvedPath(route: .debugState)
        default:
            break
        }
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1" else { return nil }
        let rest = Array(segments.dropFirst(2))
        if rest[0] == "tokens" {
            if rest.count == 1 { return ResolvedPath(route: .tokens) }
            if rest.count == 2 { return ResolvedPath(route: .token, name: rest[1]) }
            return nil
        }
        if rest == ["backup"] { return ResolvedPath(route: .backup) }
        if rest == ["audit"] { return ResolvedPath(route: .audit) }
        if rest == ["doctor"] { return ResolvedPath(route: .doctor) }
        if rest == ["doctor", "mutes"] { return ResolvedPath(route: .doctorMutes) }
        if rest.count == 3, rest[0] == "doctor", rest[1] == "mutes" { return ResolvedPath(route: .doctorMute, name: rest[2]) }
        if rest == ["explain"] { return ResolvedPath(route: .explain) }
        if rest == ["join"] { return ResolvedPath(route: .join) }
        if rest == ["secrets", "rotate-key"] { return ResolvedPath(route: .secretKeyRotation) }
        if rest[0] == "blobs" {
            return rest.count == 2 ? ResolvedPath(route: .blob, name: rest[1]) : nil
        }
        if rest[0] == Kind.image.plural, rest.count >= 3 { return resolveImage(Array(rest.dropFirst())) }
        if rest.count == 3, rest[0] == "nodes", rest[2] == "lease" {
            return ResolvedPath(route: .nodeLease, kind: .node, name: rest[1])
        }
        if rest.count == 3, rest[0] == "nodes", rest[2] == "state" {
            return ResolvedPath(route: .nodeAgentState, kind: .node, name: rest[1])
        }
        if rest.count == 3, rest[0] == "nodes", rest[2] == "health" {
            return ResolvedPath(route: .nodeHealth, kind: .node, name: rest[1])
        }
        if rest.count == 3, rest[0] == "nodes", rest[2] == "metrics" {
            return ResolvedPath(route: .nodeAgentMetrics, kind: .node, name: rest[1])
        }
        // /api/v1/projects/{project}/{kind}[/{name}[/history]]
        if rest[0] == "projects", rest.count >= 3 {
            if rest.count == 3, rest[2] == "history" {
                return ResolvedPath(route: .clusterObjectHistory, kind: .project, name: rest[1])
            }
            let kind = try kindFor(rest[2])
            guard kind.scope != .cluster else {
                throw KumoError(.notFound, "\(kind.plural) are cluster-scoped: use /api/v1/\(kind.plural)", field: "kind")
            }
            switch rest.count {
            case 3: return ResolvedPath(route: .projectCollection, kind: kind, project: rest[1])
            case 4: return ResolvedPath(route: .projectObject, kind: kind, project: rest[1], name: rest[3])
            case 5 where rest[4] == "history":
                return ResolvedPath(route: .projectObjectHistory, kind: kind, project: rest[1], name: rest[3])
            case 5 where rest[4] == "logs" && kind == .replica:
                return ResolvedPath(route: .replicaLogs, kind: kind, project: rest[1], name: rest[3])
            case 5 where rest[4] == "console" && kind == .instance:
                return ResolvedPath(route: .instanceConsole, kind: kind, project: rest[1], name: rest[3])
            case 5 where rest[4] == "loadbalancers" && kind == .service:
                return ResolvedPath(route: .serviceLoadBalancers, kind: kind, project: rest[1], name: rest[3])
            default: return nil
            }
        }
        let kind = try kindFor(rest[0])
        switch rest.count {
        case 1: return ResolvedPath(route: .clusterCollection, kind: kind)
        case 2:
            guard kind.scope != .project else {
                throw KumoError(
                    .notFound, "\(kind.plural) are project-scoped: use /api/v1/projects/{project}/\(kind.plural)/{name}",
                    field: "kind")
            }
            return ResolvedPath(route: .clusterObject, kind: kind, name: rest[1])
        case 3 where rest[2] == "history" && kind.scope != .project:
            return ResolvedPath(route: .clusterObjectHistory, kind: kind, name: rest[1])
        default: return nil
        }
    }

    /// One raw path segment percent-decoded (400 when its encoding is invalid).
    public static func decodeSegment(_ raw: String) throws(KumoError) -> String {
        guard let value = raw.removingPercentEncoding else {
            throw KumoError(.badRequest, "invalid percent-encoding in path segment \"\(raw)\"")
        }
        return value
    }

    /// `{name…}`, `{name…}/history`, `{name…}/tags/{tag}` under `/api/v1/images/` (at least two segments).
    private static func resolveImage(_ parts: [String]) -> ResolvedPath? {
        if parts.count >= 3, parts[parts.count - 2] == "tags" {
            return ResolvedPath(
                route: .imageTag, kind: .image, name: parts.dropLast(2).joined(separator: "/"), tag: parts[parts.count - 1])
        }
        if parts.last == "history" {
            return ResolvedPath(route: .clusterObjectHistory, kind: .image, name: parts.dropLast().joined(separator: "/"))
        }
        return ResolvedPath(route: .clusterObject, kind: .image, name: parts.joined(separator: "/"))
    }

    private static func kindFor(_ plural: String) throws(KumoError) -> Kind {
        guard let kind = Kind(plural: plural) else {
            throw KumoError(
                .notFound,
                "unknown kind \"\(plural)\": expected one of \(Kind.allCases.map(\.plural).joined(separator: ", "))",
                field: "kind")
        }
        return kind
    }
}

/// Builds request paths (the client side of `ResolvedPath`).
public enum APIPaths {
    public static func collection(_ kind: Kind, project: String?) -> String {
        if let project, kind.scope != .cluster {
            return "/api/v1/projects/\(encode(project))/\(kind.plural)"
        }
        return "/api/v1/\(kind.plural)"
    }

    public static func object(_ kind: Kind, project: String?, name: String) -> String {
        collection(kind, project: project) + "/" + encode(name)
    }

    /// `POST`: rotate the secret encryption key.
    public static let secretKeyRotation = APIRoute.secretKeyRotation.rawValue

    public static func replicaLogs(project: String, name: String) -> String {
        object(.replica, project: project, name: name) + "/logs"
    }

    public static func instanceConsole(project: String, name: String) -> String {
        object(.instance, project: project, name: name) + "/console"
    }

    public static func history(_ kind: Kind, project: String?, name: String) -> String {
        object(kind, project: project, name: name) + "/history"
    }

    /// `POST` (the node's agent) / `GET` (admin) of a node's health report.
    public static func nodeHealth(_ node: String) -> String { object(.node, project: nil, name: node) + "/health" }

    /// `DELETE` of one doctor mute.
    public static func doctorMute(_ code: String) -> String { APIRoute.doctorMutes.rawValue + "/" + encode(code) }

    /// `PUT`/`GET`/`HEAD` of one blob.
    public static func blob(_ digest: String) -> String {
        "/api/v1/blobs/" + encode(digest).replacingOccurrences(of: "%3A", with: ":")
    }

    /// `PUT`/`DELETE` of one image tag.
    public static func imageTag(_ name: String, tag: String) -> String {
        object(.image, project: nil, name: name) + "/tags/" + encode(tag)
    }

    /// Percent-encodes one path segment (a `/` in an image name becomes `%2F`).
    public static func encode(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Percent-encodes a query value.
    public static func encodeQuery(_ value: String) -> String { encode(value) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
