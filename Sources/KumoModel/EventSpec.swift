/// Something that happened to an object, for people (`kumo events`). Lives in the project of the object it
/// regards, or is cluster-scoped for cluster-scoped objects; named as a DNS subdomain.
public typealias Event = Object<EventSpec>

public struct EventSpec: ResourceSpec {
    public typealias Status = EmptyStatus
    public static var kind: Kind { .event }

    public static let maxMessageLength = 4096
    public static let maxReasonLength = 128

    public var regarding: ObjectReference
    /// CamelCase: `FailedScheduling`, `Pulled`, `NodeNotReady`.
    public var reason: String
    public var message: String?
    public var type: EventType
    /// The component that reported it: `scheduler`, `node/worker-1`, …
    public var source: String
    /// How many times it happened (repeats are folded into one event).
    public var count: Int?
    /// RFC 3339.
    public var firstTime: String?
    public var lastTime: String?

    public init(
        regarding: ObjectReference, reason: String, message: String? = nil, type: EventType, source: String,
        count: Int? = nil, firstTime: String? = nil, lastTime: String? = nil
    ) {
        self.regarding = regarding
        self.reason = reason
        self.message = message
        self.type = type
        self.source = source
        self.count = count
        self.firstTime = firstTime
        self.lastTime = lastTime
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        errors += regarding.validate(path: "\(path).regarding")
        if let project = regarding.project, let own = metadata.project, project != own {
            errors.append(
                FieldError("\(path).regarding.project", "must equal metadata.project \"\(own)\" (\"\(project)\")"))
        }
        if !Self.isReason(reason) {
            errors.append(
                FieldError(
                    "\(path).reason",
                    "must be CamelCase letters and digits starting with an upper case letter, "
                        + "at most \(Self.maxReasonLength) characters"))
        }
        if let message, message.count > Self.maxMessageLength {
            errors.append(FieldError("\(path).message", "must be no more than \(Self.maxMessageLength) characters"))
        }
        if !Self.isSource(source) {
            errors.append(
                FieldError(
                    "\(path).source",
                    "must be a component name of letters, digits, '.', '_', '-' and '/', at most 253 characters"))
        }
        if let count, count < 1 { errors.append(FieldError("\(path).count", "must be at least 1")) }
        return errors
    }

    static func isReason(_ s: String) -> Bool {
        guard let first = s.utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"),
            s.utf8.count <= maxReasonLength
        else { return false }
        return s.utf8.allSatisfy(Names.isAlnum)
    }

    static func isSource(_ s: String) -> Bool {
        guard let first = s.utf8.first, Names.isAlnum(first), s.utf8.count <= 253 else { return false }
        return s.utf8.allSatisfy {
            Names.isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "/")
        }
    }
}

public enum EventType: String, Codable, CaseIterable, Sendable, Hashable {
    case normal = "Normal"
    case warning = "Warning"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// Names one object: its kind (`Replica`), name, project (for project-scoped kinds) and optionally uid. Or one
/// of Kumo's components (`kind: Component`, `name: store`, as `kumo explain` names them): what an event about
/// the whole cloud regards (a doctor finding that spans every node, such as slow store commits).
public struct ObjectReference: Codable, Sendable, Equatable, Hashable {
    /// A `Kind` raw value (`Node`, `Replica`, …) or `Component`.
    public var kind: String
    public var name: String
    public var project: String?
    public var uid: String?

    public init(kind: String, name: String, project: String? = nil, uid: String? = nil) {
        self.kind = kind
        self.name = name
        self.project = project
        self.uid = uid
    }

    public init(kind: Kind, name: String, project: String? = nil, uid: String? = nil) {
        self.init(kind: kind.rawValue, name: name, project: project, uid: uid)
    }

    /// The pseudo-kind of a reference to a component rather than an object.
    public static let componentKind = "Component"

    /// A reference to one of Kumo's components (`store`, `controller/workloads`): cluster-wide, no project.
    public static func component(_ name: String) -> ObjectReference { ObjectReference(kind: componentKind, name: name) }

    public var isComponent: Bool { kind == Self.componentKind }

    /// A component name: lowercase letters, digits, '-' and '/', at most 63 characters (`controller/workloads`).
    static func isComponentName(_ s: String) -> Bool {
        guard let first = s.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"), s.utf8.count <= 63 else { return false }
        return s.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/")
        }
    }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        if isComponent {
            if !Self.isComponentName(name) {
                errors.append(FieldError("\(path).name", "must be a component name such as store or controller/workloads (kumo explain lists them)"))
            }
            if project != nil { errors.append(FieldError("\(path).project", "must not be set: a component is cluster-wide")) }
            return errors
        }
        guard let kind = Kind(rawValue: kind) else {
            errors.append(
                FieldError(
                    "\(path).kind",
                    "unknown kind \"\(self.kind)\": must be one of \(FixedValues.allowed(Kind.self)) or \(Self.componentKind)"))
            return errors
        }
        if let why = MetadataValidation.nameReason(name, kind: kind) {
            errors.append(FieldError("\(path).name", why))
        }
        if let project {
            if kind.scope == .cluster {
                errors.append(FieldError("\(path).project", "must not be set: \(kind) is cluster-scoped"))
            } else if let why = Names.validateDNSLabel(project) {
                errors.append(FieldError("\(path).project", why))
            }
        }
        return errors
    }
}
