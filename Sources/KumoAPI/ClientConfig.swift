import Foundation
import KumoModel

/// The CLI's connection settings, kept in `~/.kumo/config` (JSON, mode 0600) or wherever `KUMO_CONFIG` points.
public struct ClientConfig: Codable, Sendable, Equatable {
    public var server: String
    public var token: String
    /// Project used when a command names none (`-p`).
    public var project: String?
    /// The cluster CA (PEM) the server's certificate must be signed by; stored at the first `kumo login` after
    /// showing its fingerprint, or from `--ca FILE`. A server presenting another CA is refused.
    public var ca: String?

    public init(server: String, token: String, project: String? = nil, ca: String? = nil) {
        self.server = server
        self.token = token
        self.project = project
        self.ca = ca
    }

    public static var defaultPath: String {
        if let p = ProcessInfo.processInfo.environment["KUMO_CONFIG"], !p.isEmpty { return p }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.kumo/config"
    }

    public static func load(from path: String = ClientConfig.defaultPath) throws(KumoError) -> ClientConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(
                .unauthorized,
                "no client configuration at \(path): run `kumo login --server URL --token-file FILE` first "
                    + "(or set KUMO_CONFIG)")
        }
        do {
            return try decode(jsonBytes: data, as: ClientConfig.self)
        } catch {
            throw KumoError(.badRequest, "failed to read client configuration \(path): \(error.message)", cause: error)
        }
    }

    /// Writes atomically with mode 0600 (the file holds a bearer token).
    public func save(to path: String = ClientConfig.defaultPath) throws(KumoError) {
        do {
            let dir = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try SecureFile.write(Data(KumoModel.encode(self).prettySerialized()), to: path)
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to write client configuration \(path): \(error)", cause: error)
        }
    }
}

/// Writes files that hold secrets: temp file with mode 0600, fsync, rename.
public enum SecureFile {
    /// A token or credential kept in a file: its text without surrounding whitespace; nil when the file is
    /// missing, unreadable or empty.
    public static func readSecret(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty
        else { return nil }
        return text
    }

    public static func write(_ data: Data, to path: String) throws(KumoError) {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else {
            throw KumoError(.internal, "failed to write \(path): \(String(cString: strerror(errno)))")
        }
        var ok = true
        data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { ok = false; break }
                off += n
            }
        }
        fchmod(fd, 0o600)
        if fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw KumoError(.internal, "failed to write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
