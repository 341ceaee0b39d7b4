/// The kinds of the `kumo/v1` API.
public enum Kind: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case node = "Node"
    case project = "Project"
    case image = "Image"
    case workload = "Workload"
    case replica = "Replica"
    case instance = "Instance"
    case service = "Service"
    case secret = "Secret"
    case event = "Event"

    public enum Scope: Sendable {
        /// `/api/v1/{plural}/{name}`
        case cluster
        /// `/api/v1/projects/{project}/{plural}/{name}` (and `/api/v1/{plural}` lists across projects)
        case project
        /// Events: in the project of the object they regard, or cluster-scoped for cluster-scoped objects.
        case either
    }

    public static let apiVersion = "kumo/v1"

    public var description: String { rawValue }

    /// Path segment and store key segment: `nodes`, `workloads`, ...
    public var plural: String { rawValue.lowercased() + "s" }

    public var scope: Scope {
        switch self {
        case .node, .project, .image: .cluster
        case .workload, .replica, .instance, .service, .secret: .project
        case .event: .either
        }
    }

    /// Short names accepted by the CLI (`kumo get wl`).
    public var shortNames: [String] {
        switch self {
        case .node: ["no"]
        case .project: ["proj"]
        case .image: ["img"]
        case .workload: ["wl"]
        case .replica: ["rep"]
        case .instance: ["vm", "inst"]
        case .service: ["svc"]
        case .secret: []
        case .event: ["ev"]
        }
    }

    /// Parses `Node`, `node`, `nodes`, or a short name (case-insensitive).
    public init?(userInput: String) {
        let s = userInput.lowercased()
        for k in Kind.allCases where s == k.rawValue.lowercased() || s == k.plural || k.shortNames.contains(s) {
            self = k
            return
        }
        return nil
    }

    public init?(plural: String) {
        guard let k = Kind.allCases.first(where: { $0.plural == plural }) else { return nil }
        self = k
    }
}
