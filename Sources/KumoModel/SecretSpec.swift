/// Secret material for replicas (project-scoped). Values are base64; project tokens with role `view` do not
/// see them.
public typealias Secret = Object<SecretSpec>

public struct SecretSpec: ResourceSpec {
    public typealias Status = EmptyStatus
    public static var kind: Kind { .secret }

    public static let maxDataBytes = 1024 * 1024

    /// Free-form type tag (`opaque`, `tls`, …).
    public var type: String?
    /// Key (`[-._a-zA-Z0-9]+`) → base64 value.
    public var data: [String: String]?

    public init(type: String? = nil, data: [String: String]? = nil) {
        self.type = type
        self.data = data
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        guard let data else { return errors }
        var total = 0
        for key in data.keys.sorted() {
            let value = data[key]!
            total += key.utf8.count + value.utf8.count
            if let why = SpecValidation.secretKeyReason(key) {
                errors.append(FieldError("\(path).data.\(key)", "invalid key: \(why)"))
            } else if !SpecValidation.isBase64(value) {
                errors.append(FieldError("\(path).data.\(key)", "must be base64 (standard alphabet, padded)"))
            }
        }
        if total > Self.maxDataBytes {
            errors.append(FieldError("\(path).data", "total size \(total) bytes exceeds \(Self.maxDataBytes) bytes"))
        }
        return errors
    }
}
