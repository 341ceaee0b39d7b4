import Foundation

/// The byte range `[lower, upper)` of keys starting with a prefix. Keys are stored as their UTF-8 bytes (BLOB)
/// so SQLite's memcmp order is the store's key order and a prefix is a contiguous index range.
struct KeyRange: Sendable {
    var lower: Data
    /// nil: no upper bound (empty prefix).
    var upper: Data?

    init(prefix: String) {
        let bytes = Array(prefix.utf8)
        lower = Data(bytes)
        upper = KeyRange.successor(of: bytes).map { Data($0) }
    }

    /// The smallest byte string greater than every string starting with `prefix`, or nil if there is none.
    static func successor(of prefix: [UInt8]) -> [UInt8]? {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return nil
    }

    /// Whether `key` starts with `prefix`, by UTF-8 bytes (the same test as the SQL range).
    static func matches(_ key: String, prefix: String) -> Bool {
        prefix.isEmpty || key.utf8.starts(with: prefix.utf8)
    }
}

extension String {
    var keyData: Data { Data(utf8) }

    init(keyData: Data) {
        self = String(decoding: keyData, as: UTF8.self)
    }
}
