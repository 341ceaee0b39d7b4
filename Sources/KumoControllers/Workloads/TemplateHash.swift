import KumoModel

/// The short, stable name of a replica template: the revision a replica belongs to (label
/// `kumo.dev/template-hash`) and the key of `Workload.status.revisions`.
///
/// FNV-1a 64 over the template's canonical JSON (KumoModel's `encode(_:)`, then `serialized()`: object keys
/// sorted, nil fields omitted), written as exactly 10 lowercase base-36 digits (the hash modulo 36^10, about
/// 2^51.7). Equal templates always hash alike, across processes and releases, as long as the canonical
/// JSON of the template does not change.
public enum TemplateHash {
    /// Number of characters in a hash.
    public static let length = 10

    public static func of(_ template: ReplicaTemplate) -> String {
        format(fnv1a64(encode(template).serialized()))
    }

    /// FNV-1a, 64-bit.
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// `value` modulo 36^10 as 10 base-36 digits (`0-9a-z`), zero-padded.
    static func format(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        var v = value
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: length)
        for i in stride(from: length - 1, through: 0, by: -1) {
            out[i] = digits[Int(v % 36)]
            v /= 36
        }
        return String(decoding: out, as: UTF8.self)
    }
}
