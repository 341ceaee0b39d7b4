/// Secret material for replicas (project-scoped). Values are base64 in `spec.data`; the server keeps them sealed
/// at rest and serves them only to callers who may see them (project tokens with role `view` do not).
public typealias Secret = Object<SecretSpec>

public struct SecretSpec: ResourceSpec {
    public typealias Status = EmptyStatus
    public static var kind: Kind { .secret }

    /// The most a secret may hold: its keys plus its values decoded (1 MiB).
    public static let maxDataBytes = 1024 * 1024
    /// Types a secret may have; nil means `opaque`.
    public static let types = ["opaque", "tls"]
    /// Keys a `tls` secret must have.
    public static let tlsKeys = ["tls.crt", "tls.key"]

    /// `opaque` (default) or `tls` (must hold `tls.crt` and `tls.key`).
    public var type: String?
    /// Key (`[-._a-zA-Z0-9]+`, usable as a file name) → base64 value.
    public var data: [String: String]?

    public init(type: String? = nil, data: [String: String]? = nil) {
        self.type = type
        self.data = data
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let type, !Self.types.contains(type) {
            errors.append(FieldError("\(path).type", "must be one of \(Self.types.joined(separator: ", ")), not \"\(type)\""))
        }
        let data = data ?? [:]
        if type == "tls" {
            for key in Self.tlsKeys where data[key] == nil {
                errors.append(FieldError("\(path).data", "a tls secret needs the key \(key)"))
            }
        }
        var total = 0
        // Messages name keys, never values: they end up in responses and logs.
        for (key, value) in data.sorted(by: { $0.key < $1.key }) {
            total += key.utf8.count + Self.decodedSize(ofBase64: value)
            if let why = SpecValidation.secretKeyReason(key) {
                errors.append(FieldError("\(path).data.\(key)", "invalid key: \(why)"))
            } else if !SpecValidation.isBase64(value) {
                errors.append(FieldError("\(path).data.\(key)", "must be base64 (standard alphabet, padded)"))
            }
        }
        if total > Self.maxDataBytes {
            errors.append(
                FieldError(
                    "\(path).data",
                    "secret data is \(total) bytes (keys plus decoded values); the limit is \(Self.maxDataBytes) bytes (1 MiB)"))
        }
        return errors
    }

    /// Bytes a base64 string decodes to (by its length and padding; exact for valid input).
    static func decodedSize(ofBase64 s: String) -> Int {
        let n = s.utf8.count
        let padding = s.utf8.reversed().prefix(2).prefix { $0 == UInt8(ascii: "=") }.count
        return max(0, n / 4 * 3 - padding)
    }
}
