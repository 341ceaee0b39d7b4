import KumoModel

/// `{"error": {"code", "message", "field"}}` — the body of every error response.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
        public var field: String?
    }
    public var error: Detail

    public init(_ error: KumoError) {
        self.error = Detail(code: error.code.rawValue, message: error.message, field: error.field)
    }

    public var kumoError: KumoError {
        KumoError(KumoError.Code(rawValue: error.code), error.message, field: error.field)
    }
}
