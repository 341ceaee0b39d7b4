import KumoAPI
import KumoModel

/// Who is calling: the identity of the bearer token. Its `name` is the default field manager of its writes.
public struct Identity: Sendable, Equatable, CustomStringConvertible {
    public enum Role: Sendable, Equatable {
        /// The admin token made at first start: everything.
        case admin
        /// A project token: `view` reads the project (no secret values), `edit` also writes it.
        case project(String, TokenRole)
        /// A node agent (identity `node/<name>`): see `Authorizer`.
        case node(String)
        /// A join token: may only exchange itself for a node token.
        case join
        /// Components inside the server process (scheduler, controllers); never from HTTP.
        case system
    }

    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }

    public static let admin = Identity(name: "admin", role: .admin)

    public var description: String { name }

    /// The manager for a write: the identity itself, or `?manager=` when it is a sub-name of it
    /// (`admin/alpha`). Anything else would impersonate another identity → 403.
    public func manager(requested: String?) throws(KumoError) -> String {
        guard let requested, !requested.isEmpty, requested != name else { return name }
        let prefix = name + "/"
        let sub = requested.dropFirst(prefix.count)
        guard requested.hasPrefix(prefix), !sub.isEmpty, sub.count <= 63,
            sub.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
            sub.allSatisfy({ $0.isASCII })
        else {
            throw KumoError(
                .forbidden,
                "manager \"\(requested)\" is not allowed for \(name): use \"\(name)\" or a sub-name like \"\(name)/tool\"",
                field: "manager")
        }
        return requested
    }
}
