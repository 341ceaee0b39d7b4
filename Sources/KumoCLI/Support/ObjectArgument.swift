import KumoModel

/// An object named on the command line. Every command that takes a kind and a name parses its arguments here, so
/// `service/web`, `svc web` and `services/web` mean the same thing in get, describe, delete, history, logs, cordon,
/// scale … and their errors read the same. The forms are kubectl's, because that is what users type from habit.
struct ObjectArgument: Hashable, Sendable, CustomStringConvertible {
    var kind: Kind
    var name: String

    var description: String { "\(kind.rawValue.lowercased())/\(name)" }

    /// What get, describe and delete were asked for.
    enum Selection: Hashable, Sendable {
        /// `kumo get nodes`: every object of a kind.
        case all(Kind)
        /// `kumo get node n1 n2`, `kumo get node/n1 svc/web`: these objects, in the order given.
        case objects([ObjectArgument])
    }

    /// `KIND`, `KIND NAME...` or `KIND/NAME...` (then kinds may differ).
    ///
    /// As in kubectl, the first argument decides the form. Without a slash it is a kind and the rest are names taken
    /// literally; with one, every argument must be KIND/NAME. Mixing the forms is refused rather than guessed at:
    /// `kumo delete node/n1 n2` could mean a node n2 or a typo, and a delete should not guess.
    static func parse(_ args: [String]) throws(KumoError) -> Selection {
        guard let first = args.first else {
            throw KumoError(.invalid, "name a kind (e.g. nodes) or objects as KIND/NAME (e.g. service/web)")
        }
        guard first.contains("/") else {
            let kind = try Self.kind(first)
            let names = Array(args.dropFirst())
            if names.isEmpty { return .all(kind) }
            if names.contains("") { throw KumoError(.invalid, "an empty name is no object's name") }
            return .objects(names.map { ObjectArgument(kind: kind, name: $0) })
        }
        var refs: [ObjectArgument] = []
        for arg in args {
            guard arg.contains("/") else {
                throw KumoError(
                    .invalid,
                    "\"\(arg)\" is not KIND/NAME: after \(first), name every object as KIND/NAME (or pass KIND NAME NAME...)")
            }
            refs.append(try slashed(arg))
        }
        return .objects(refs)
    }

    /// Exactly one object, `KIND/NAME` or `KIND NAME` (history, `events --for`).
    static func parseOne(_ args: [String]) throws(KumoError) -> ObjectArgument {
        switch try parse(args) {
        case .all(let kind):
            let k = kind.rawValue.lowercased()
            throw KumoError(.invalid, "name the \(k): \(k)/NAME or \(k) NAME")
        case .objects(let refs):
            guard refs.count == 1 else {
                throw KumoError(
                    .invalid, "name one object, not \(refs.count): \(refs.map(\.description).joined(separator: " "))")
            }
            return refs[0]
        }
    }

    /// The name for a command that works on one kind only (`logs`: replicas, `cordon`: nodes): `NAME`, `KIND/NAME`
    /// or `KIND NAME`, where KIND must be `kind` (any of its names: node, nodes, no).
    static func name(_ args: [String], of kind: Kind, command: String) throws(KumoError) -> String {
        let k = kind.rawValue.lowercased()
        let kindWord: String
        let name: String
        switch args.count {
        case 1 where !args[0].contains("/"):
            (kindWord, name) = (k, args[0])
        case 1:
            let s = args[0]
            let slash = s.firstIndex(of: "/")!
            (kindWord, name) = (String(s[..<slash]), String(s[s.index(after: slash)...]))
        case 2 where !args[0].contains("/"):
            (kindWord, name) = (args[0], args[1])
        default:
            throw KumoError(
                .invalid, "kumo \(command) takes one \(k): NAME, \(k)/NAME or \(k) NAME (got \(args.joined(separator: " ")))")
        }
        guard Kind(userInput: kindWord) == kind else {
            throw KumoError(
                .invalid,
                "kumo \(command) works on \(kind.plural) only, not \(kindWord): pass NAME or \(k)/NAME (got \(args.joined(separator: " ")))")
        }
        guard !name.isEmpty else { throw KumoError(.invalid, "\(args.joined(separator: " ")) names no \(k): pass NAME or \(k)/NAME") }
        return name
    }

    /// `node/n1`, `services/web` → the object. The name is everything after the first slash.
    static func slashed(_ s: String) throws(KumoError) -> ObjectArgument {
        guard let slash = s.firstIndex(of: "/") else {
            throw KumoError(.invalid, "expected KIND/NAME like node/n1, got \"\(s)\"")
        }
        let kind = try Self.kind(String(s[..<slash]))
        let name = String(s[s.index(after: slash)...])
        guard !name.isEmpty else {
            throw KumoError(.invalid, "\"\(s)\" names no object: expected KIND/NAME like \(kind.rawValue.lowercased())/NAME")
        }
        return ObjectArgument(kind: kind, name: name)
    }

    /// A kind by any of its names: `Node`, `node`, `nodes`, `no` (case-insensitive).
    static func kind(_ s: String) throws(KumoError) -> Kind {
        guard let k = Kind(userInput: s) else {
            throw KumoError(.invalid, "unknown kind \"\(s)\": one of \(kindNames)")
        }
        return k
    }

    /// For help texts and errors: `node, project, …, event (plurals and short names too: nodes, svc, wl, …)`.
    static var kindNames: String {
        Kind.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")
            + " (plurals and short names work too: \(Kind.allCases.flatMap(\.shortNames).joined(separator: ", ")))"
    }
}
