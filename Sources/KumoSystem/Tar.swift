import Foundation
import KumoModel

/// Image layers read through GNU tar, run from argv arrays by `Command` (never a shell): listed and validated by
/// the server and the image builder, unpacked by the agent. Writing them is `TarWriter` in KumoImages.
public struct Tar: Sendable {
    public enum Compression: Sendable {
        case gzip, none
        /// Let tar detect it (reading a file only).
        case auto

        var flag: [String] {
            switch self {
            case .gzip: ["-z"]
            case .none, .auto: []
            }
        }
    }

    let command: Command

    public init(command: Command) { self.command = command }

    /// Whether a file starts with the gzip magic bytes.
    public static func isGzip(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 2)) == Data([0x1f, 0x8b])
    }

    /// The member names of an archive, as tar prints them (`./etc/passwd`). Reads the archive to its end, so a
    /// truncated or corrupt archive throws (`.invalid`, quoting tar) instead of giving a partial list.
    public func list(_ file: String, compression: Compression = .auto) async throws(KumoError) -> [String] {
        let result = try await command.run(["tar"] + compression.flag + ["-tf", file], outputLimit: 256 << 20)
        guard result.succeeded else { throw unreadable(file, result) }
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Checks that `file` is a complete, readable tar (gzip-compressed when `compression` says so).
    public func validate(_ file: String, compression: Compression) async throws(KumoError) {
        _ = try await list(file, compression: compression)
    }

    /// Extracts `file` into `directory` (which must exist), numeric owners, never following `..` out of it.
    /// `excludingWhiteouts` leaves out OCI whiteout markers (`.wh.*`), which the caller has already applied.
    public func extract(
        _ file: String, into directory: String, compression: Compression = .auto, excludingWhiteouts: Bool = false
    ) async throws(KumoError) {
        var argv = ["tar", "-x"] + compression.flag + ["--numeric-owner", "--no-overwrite-dir", "-f", file, "-C", directory]
        if excludingWhiteouts { argv.append("--exclude=.wh.*") }
        let result = try await command.run(argv)
        guard result.succeeded else { throw Command.failure(result) }
    }

    func unreadable(_ file: String, _ result: CommandResult) -> KumoError {
        var detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if detail.count > 500 { detail = String(detail.prefix(500)) + "…" }
        return KumoError(.invalid, "\(file) is not a readable tar archive (corrupt or truncated?): \(detail)")
    }
}

extension Tar {
    /// A member name relative to the root, without a leading `./` or `/` (nil for the root itself). A name that
    /// climbs out of the root with `..` (a hostile layer) throws.
    public static func memberPath(_ name: String) throws(KumoError) -> String? {
        var parts: [Substring] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                throw KumoError(.invalid, "layer entry \"\(name)\" escapes the image root with '..'")
            }
            parts.append(part)
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}
