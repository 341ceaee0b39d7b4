import Foundation
import KumoModel

/// Image layers through GNU tar, run from argv arrays by `Command` (never a shell).
///
/// Layers are made reproducible — sorted names, numeric owner 0:0, mtime 0, no gzip name or timestamp — so the
/// same directory always gives the same digest and a re-push uploads nothing.
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

    /// Writes a tar (gzip-compressed when `gzip`) of the contents of `directory` (entries `./…`) to `file`.
    public func createLayer(from directory: String, to file: String, gzip: Bool = true) async throws(KumoError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw KumoError(.notFound, "\(directory) is not a directory", field: "from-dir")
        }
        try await command.check([
            "tar", "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "--format=gnu",
            gzip ? "-czf" : "-cf", file, "-C", directory, ".",
        ])
    }

    /// Compresses a plain tar into a gzip file (gzip -n: no name, no timestamp, so the digest is stable).
    public func gzip(_ source: String, to file: String) async throws(KumoError) {
        try await pipe(["gzip", "-n", "-c", source], to: file)
    }

    /// Decompresses a gzip file (to hash the uncompressed tar: an OCI `diff_id`).
    public func gunzip(_ source: String, to file: String) async throws(KumoError) {
        try await pipe(["gzip", "-d", "-c", source], to: file)
    }

    /// Runs `argv` with its stdout written to `file`.
    func pipe(_ argv: [String], to file: String) async throws(KumoError) {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw KumoError(.internal, "failed to create \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let errPath = file + ".stderr"
        let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer {
            if errFD >= 0 { close(errFD) }
            unlink(errPath)
        }
        let status = try await command.run(argv, stdout: fd, stderr: errFD >= 0 ? errFD : fd)
        guard status == 0 else {
            let detail = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw KumoError(.invalid, "\(argv.joined(separator: " ")) failed (exit \(status)): \(detail)")
        }
    }

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
