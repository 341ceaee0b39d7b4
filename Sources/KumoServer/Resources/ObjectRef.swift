import KumoAPI
import KumoModel

/// Which object: kind, project (for project-scoped kinds and project events) and name. Knows its store keys.
public struct ObjectRef: Sendable, Hashable, CustomStringConvertible {
    public var kind: Kind
    public var project: String?
    public var name: String

    public init(_ kind: Kind, project: String? = nil, name: String) {
        self.kind = kind
        self.project = project
        self.name = name
    }

    public var description: String {
        if let project { return "\(kind.rawValue.lowercased())/\(project)/\(name)" }
        return "\(kind.rawValue.lowercased())/\(name)"
    }

    /// `/registry/nodes/n1`, `/registry/workloads/p1/web`, `/registry/events/_/n1.abc` (cluster-scoped event).
    public var storeKey: String { StoreKeys.collectionPrefix(kind, project: project ?? scopeMarker) + name }

    /// Where this object's history lives: `/history/<plural>/<project or _>/<name>/`. The name is
    /// percent-encoded so that image `library`'s history does not include that of `library/busybox`.
    public var historyPrefix: String { "/history/\(kind.plural)/\(project ?? "_")/\(APIPaths.encode(name))/" }

    private var scopeMarker: String? { kind.scope == .either ? "_" : nil }

    /// Parses a store key back (for watch events and retention).
    public static func parse(storeKey: String) -> ObjectRef? {
        let parts = storeKey.split(separator: "/", omittingEmptySubsequences: false)
        // ["", "registry", plural, (project,) name]
        guard parts.count >= 4, parts[1] == "registry", let kind = Kind(plural: String(parts[2])) else { return nil }
        switch kind.scope {
        case .cluster:
            return ObjectRef(kind, name: parts[3...].joined(separator: "/"))
        case .project, .either:
            guard parts.count == 5 else { return nil }
            let project = parts[3] == "_" ? nil : String(parts[3])
            return ObjectRef(kind, project: project, name: String(parts[4]))
        }
    }
}

public enum StoreKeys {
    public static let registry = "/registry/"
    public static let history = "/history/"
    public static let tokens = "/auth/tokens/"

    /// Prefix of a collection: all objects of a kind (project nil) or of a kind in one project.
    public static func collectionPrefix(_ kind: Kind, project: String?) -> String {
        if let project { return "/registry/\(kind.plural)/\(project)/" }
        return "/registry/\(kind.plural)/"
    }
}
