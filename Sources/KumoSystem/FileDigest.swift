import Crypto
import Foundation
import KumoModel

/// SHA-256 of files and byte streams, read in chunks so a multi-gigabyte layer never sits in memory.
/// Digests are written the OCI way: `sha256:<64 lower case hex>`.
public struct FileDigest: Sendable {
    private var hasher = SHA256()
    /// Bytes fed so far.
    public private(set) var count: Int64 = 0

    public init() {}

    public mutating func update<D: ContiguousBytes>(_ bytes: D) {
        bytes.withUnsafeBytes { raw in
            hasher.update(bufferPointer: raw)
            count += Int64(raw.count)
        }
    }

    /// The digest of everything fed so far.
    public func finalize() -> String { Self.render(hasher.finalize()) }

    /// Streams `path` through SHA-256: its digest and size.
    public static func sha256(ofFile path: String) throws(KumoError) -> (digest: String, size: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw KumoError(.notFound, "failed to read \(path): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        var digest = FileDigest()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                digest.update(chunk)
            }
        } catch {
            throw KumoError(.internal, "failed to read \(path): \(error)", cause: error)
        }
        return (digest.finalize(), digest.count)
    }

    /// The digest of bytes in memory (manifests, configs).
    public static func sha256(of bytes: [UInt8]) -> String { render(SHA256.hash(data: bytes)) }

    /// The 64 hex digits of a `sha256:` digest (nil when it is not one).
    public static func hex(of digest: String) -> String? {
        Names.validateDigest(digest) == nil ? String(digest.dropFirst("sha256:".count)) : nil
    }

    static func render(_ d: SHA256.Digest) -> String {
        "sha256:" + d.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
