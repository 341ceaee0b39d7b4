/// Decoding of string enums with a fixed set of values, failing with the allowed values listed:
/// `invalid value "Sometimes": must be one of Always, OnFailure, Never`.
enum FixedValues {
    static func decode<T: RawRepresentable & CaseIterable>(_ decoder: any Decoder) throws -> T
    where T.RawValue == String {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        if let value = T(rawValue: s) { return value }
        throw DecodingError.dataCorruptedError(
            in: c, debugDescription: "invalid value \"\(s)\": must be one of \(allowed(T.self))")
    }

    static func allowed<T: RawRepresentable & CaseIterable>(_ type: T.Type) -> String where T.RawValue == String {
        T.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
