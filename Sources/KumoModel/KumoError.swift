/// The one error type of Kumo: a stable machine-readable `code`, a human `message` ("failed to <op>: <reason>"),
/// the offending `field` path when there is one, and the underlying `cause`.
///
/// Every layer throws this; the API server maps `code` to an HTTP status and renders
/// `{"error": {"code", "message", "field"}}`.
public struct KumoError: Error, Sendable, CustomStringConvertible {
    /// Codes are a struct over a string so new ones can be added without breaking callers;
    /// an unknown code read off the wire becomes `.unknown`-like by keeping its raw value (never a crash).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// 400: the request could not be parsed (malformed JSON/YAML, bad query parameter).
        public static let badRequest = Code(rawValue: "bad_request")
        /// 401: no token, or a token that is not known.
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// 403: the token is known but may not do this.
        public static let forbidden = Code(rawValue: "forbidden")
        /// 404
        public static let notFound = Code(rawValue: "not_found")
        /// 405
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        /// 409: the object already exists.
        public static let alreadyExists = Code(rawValue: "already_exists")
        /// 409: stale resourceVersion / failed compare-and-swap / non-empty project.
        public static let conflict = Code(rawValue: "conflict")
        /// 409: a write would change or remove a field owned by another manager.
        public static let ownershipConflict = Code(rawValue: "ownership_conflict")
        /// 410: the requested revision has been compacted.
        public static let gone = Code(rawValue: "gone")
        /// 413: request body over the limit.
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        /// 422: parsed, but semantically invalid (bad name, wrong type, unknown field, bad quantity).
        public static let invalid = Code(rawValue: "invalid")
        /// 429
        public static let tooManyRequests = Code(rawValue: "too_many_requests")
        /// 500
        public static let `internal` = Code(rawValue: "internal")
        /// 503: a dependency (the store, a server) is not reachable.
        public static let unavailable = Code(rawValue: "unavailable")

        /// The HTTP status this code is answered with.
        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .alreadyExists, .conflict, .ownershipConflict: 409
            case .gone: 410
            case .payloadTooLarge: 413
            case .invalid: 422
            case .tooManyRequests: 429
            case .unavailable: 503
            default: 500
            }
        }
    }

    public var code: Code
    public var message: String
    public var field: String?
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    public var description: String {
        var s = "\(code): \(message)"
        if let field { s += " (field \(field))" }
        if let cause { s += " [cause: \(cause)]" }
        return s
    }
}

/// One problem with one field, found by validation. Many may be found at once; the API reports the first
/// and lists all in the message.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

extension KumoError {
    /// A 422 from validation findings (`errors` must not be empty).
    public static func invalid(_ errors: [FieldError], kind: String? = nil) -> KumoError {
        let prefix = kind.map { "invalid \($0): " } ?? "invalid object: "
        let first = errors.first ?? FieldError("", "invalid")
        return KumoError(.invalid, prefix + errors.map(\.description).joined(separator: "; "), field: first.field)
    }
}
