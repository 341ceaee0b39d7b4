/// Decodes a typed value (usually an `Object<Spec>`) from a JSON value. Only types and required fields are
/// checked here; semantic validation is `Kind.canonicalize(_:)`. A failure is a 422 naming the field:
/// `spec.ports[0].port: expected integer, got string`.
public func decode<T: Decodable>(_ json: JSONValue, as type: T.Type) throws(KumoError) -> T {
    do {
        return try ValueTreeDecoder().decode(type, from: json)
    } catch {
        throw KumoError(decoding: error, kind: (T.self as? any KindedObject.Type)?.kindName)
    }
}

/// Encodes a typed value as a JSON value; nil optionals are omitted.
public func encode(_ object: some Encodable) -> JSONValue {
    do {
        return try ValueTreeEncoder().encode(object)
    } catch {
        // The tree encoder itself never throws; only a custom `encode(to:)` that throws can get here.
        preconditionFailure("encoding \(type(of: object)) failed: \(error)")
    }
}

extension KumoError {
    /// A 422 from a decoding failure, with the dotted path of the offending field.
    init(decoding error: any Error, kind: String?) {
        if let kumo = error as? KumoError {
            self = kumo
        } else if let decoding = error as? DecodingError {
            self = .invalid([decoding.fieldError], kind: kind)
        } else {
            self = .invalid([FieldError("", "\(error)")], kind: kind)
        }
    }
}

/// Lets `decode(_:as:)` name the kind in its error message.
protocol KindedObject {
    static var kindName: String { get }
}

extension Object: KindedObject {
    static var kindName: String { Spec.kind.rawValue }
}

/// Decodes a typed value from untrusted JSON bytes — a request body, a stored record, a peer's answer — with the
/// strict parser (duplicate keys rejected, nesting bounded, line and column in errors; 400) and the tree decoder
/// (a wrong type or missing field is a 422 naming it). Kumo's one way from bytes to a typed value: Foundation's
/// JSONDecoder is not used.
public func decode<T: Decodable>(jsonBytes bytes: some Collection<UInt8>, as type: T.Type) throws(KumoError) -> T {
    try decode(try JSONValue(parsing: bytes), as: type)
}

/// The compact, deterministic serialization (sorted keys) of a typed value: Kumo's one way from a typed value to
/// bytes.
public func encodeJSON(_ value: some Encodable) -> [UInt8] {
    encode(value).serialized()
}

extension JSONValue {
    /// The largest integer a JSON number carries exactly (2^53 − 1): signed integer fields accept ±this at most.
    public static let maxSafeInteger: Double = 9_007_199_254_740_991
}
