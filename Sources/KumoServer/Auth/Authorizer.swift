import KumoAPI
import KumoModel

/// Who may do what. Pure rules, no I/O.
///
/// - admin: everything.
/// - project token (P, view|edit): objects of project-scoped kinds and events in P (view: read, edit: read and
///   write); read its own Project object; read Images. Nothing cluster-wide (Nodes, other projects, tokens,
///   backups, metrics, state).
/// - node token (`node/N`): read all Nodes (overlay peers) and Services (load balancers); get, list and watch
///   the Secrets that Replicas/Instances bound to it reference, and no others (the HTTP layer checks a get and
///   filters lists and watches); create and change its
///   own Node and lease; read and patch the status of the Replicas/Instances bound to it, and delete them (the
///   last step of a graceful deletion; the HTTP layer checks the binding and that only `status` changes, and
///   lists need `fieldSelector=spec.nodeName=N`); create Events; read Images and image blobs (its agent pulls the
///   images of its replicas). Never push or tag.
/// - blobs: upload is admin only; read by admin, project and node tokens (`requireBlobReader`).
/// - join token: nothing but `POST /api/v1/join`.
public enum Authorizer {
    public enum Verb: String, Sendable {
        case get, list, watch, create, update, patch, delete

        public var isRead: Bool { self == .get || self == .list || self == .watch }
    }

    public static func authorize(_ identity: Identity, _ verb: Verb, _ kind: Kind, project: String?, name: String?)
        throws(KumoError)
    {
        switch identity.role {
        case .admin, .system:
            return
        case .join:
            throw KumoError(.forbidden, "\(identity.name) is a join token: it can only join a node (POST /api/v1/join)")
        case .node(let node):
            let what = "\(verb.rawValue) \(kind.plural)"
            switch kind {
            case .node:
                if verb.isRead { return }
                if (verb == .create || verb == .update || verb == .patch) && name == node { return }
            case .service, .image:
                if verb.isRead { return }
            case .replica, .instance:
                // bound to this node: checked by the HTTP layer; delete finishes a graceful deletion
                if verb.isRead || verb == .patch || verb == .delete { return }
            case .event:
                if verb == .create { return }
            case .secret:
                // only those a replica bound to this node uses: a get is checked, lists and watches are filtered
                // by the HTTP layer (`visibleToNode`, the broadcaster's `secretsOf`)
                if verb.isRead { return }
            default:
                break
            }
            throw KumoError(.forbidden, "\(identity.name) (a node token) may not \(what)" + (name.map { " \"\($0)\"" } ?? ""))
        case .project(let own, let role):
            let what = "\(verb.rawValue) \(kind.plural)"
            if kind == .project {
                if verb == .get || verb == .watch, name == own { return }
                throw denied(identity, what + (name.map { " \"\($0)\"" } ?? ""), own)
            }
            if kind == .image {
                if verb.isRead { return }
                throw denied(identity, what, own)
            }
            guard kind.scope != .cluster else { throw denied(identity, what, own) }
            guard let project, project == own else {
                throw denied(identity, what + (project.map { " in project \"\($0)\"" } ?? " across all projects"), own)
            }
            if verb.isRead || role == .edit { return }
            throw KumoError(.forbidden, "\(identity.name) has role view in project \"\(own)\": it cannot \(what)")
        }
    }

    /// Admin-only endpoints (tokens, backup, metrics, debug state).
    public static func requireAdmin(_ identity: Identity, _ what: String) throws(KumoError) {
        switch identity.role {
        case .admin, .system: return
        case .project(let p, _): throw denied(identity, what, p)
        case .node, .join: throw KumoError(.forbidden, "\(identity.name) may not \(what)")
        }
    }

    /// Who may download image blobs: everyone but join tokens (nodes pull, project users inspect what they run).
    public static func requireBlobReader(_ identity: Identity) throws(KumoError) {
        if case .join = identity.role {
            throw KumoError(.forbidden, "\(identity.name) is a join token: it can only join a node (POST /api/v1/join)")
        }
    }

    /// The node a node token speaks for (nil for other identities).
    public static func node(of identity: Identity) -> String? {
        if case .node(let n) = identity.role { return n }
        return nil
    }

    /// Whether the caller may see secret values: admin, edit tokens, and node tokens (which only get the secrets
    /// their replicas use). View tokens get them redacted.
    public static func maySeeSecretValues(_ identity: Identity) -> Bool {
        if case .project(_, .view) = identity.role { return false }
        return true
    }

    static func denied(_ identity: Identity, _ what: String, _ project: String) -> KumoError {
        KumoError(.forbidden, "\(identity.name) (a token of project \"\(project)\") may not \(what)")
    }
}
