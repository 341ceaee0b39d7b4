import Foundation
import KumoModel
import KumoSystem

/// Image layers written through GNU tar and gzip, run from argv arrays by `Command` (never a shell). Reading them
/// (list, validate, extract) is `Tar` in KumoSystem, where the server and the agent need it; only image building
/// writes them.
///
/// Layers are made reproducible — sorted names, numeric owner 0:0, mtime 0, no gzip name or timestamp — so the
/// same directory always gives the same digest and a re-push uploads nothing.
public struct TarWriter: Sendable {
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
}
