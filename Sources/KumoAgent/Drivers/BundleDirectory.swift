import Foundation
import KumoModel
import KumoSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The on-disk bundles of one agent: `<root>/<id>/` holds `config.json` and `rootfs`, an overlay whose lower
/// layer is the image's unpacked rootfs (shared by every replica of the image, and never written to) and whose
/// upper and work directories live next to it (`upper/`, `work/`), so each container gets a writable root that
/// disappears with the bundle. `<root>` should be on tmpfs: config.json carries env and secret values.
public struct BundleDirectory: Sendable {
    public let root: String
    let logger: Logger

    public init(root: String, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    /// `<root>/<id>`.
    public func path(for id: String) -> String { root + "/" + id }

    /// Makes `<root>/<id>/` with the overlay rootfs over `imageRootfs` and `config` written as config.json, and
    /// returns the bundle path. Whatever a previous attempt (or a crash) left under that id is removed first, so
    /// a bundle is always fresh: a restarted container starts from the image, as in Kubernetes.
    @discardableResult
    public func create(id: String, imageRootfs: String, config: OCIConfig) throws(KumoError) -> String {
        try SafeName.check(id, what: "container id", maxLength: 64)
        try SafeName.checkPath(root, what: "bundle directory")
        try SafeName.checkPath(imageRootfs, what: "image rootfs")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: imageRootfs, isDirectory: &isDir), isDir.boolValue else {
            throw KumoError(.internal, "failed to create bundle \(id): image rootfs \(imageRootfs) is not a directory")
        }
        try remove(id: id)
        let dir = path(for: id)
        let fm = FileManager.default
        do {
            for sub in ["rootfs", "upper", "work"] {
                try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw KumoError(.internal, "failed to create bundle \(id): \(error)", cause: error)
        }
        let options = "lowerdir=\(imageRootfs),upperdir=\(dir)/upper,workdir=\(dir)/work"
        let mounted = options.withCString { mount("overlay", dir + "/rootfs", "overlay", 0, $0) }
        if mounted != 0 {
            let reason = String(cString: strerror(errno))
            try? remove(id: id)
            throw KumoError(.internal, "failed to mount the overlay rootfs of \(id): \(reason)")
        }
        // The upper directory's root inherits our 0700; give the container's / the image's mode instead.
        if let attrs = try? fm.attributesOfItem(atPath: imageRootfs), let mode = attrs[.posixPermissions] as? Int {
            chmod(dir + "/rootfs", mode_t(mode))
        }
        do {
            let bytes = try OCIBundle.json(config)
            try Self.writeAtomically(bytes, to: dir + "/config.json")
        } catch {
            try? remove(id: id)
            throw KumoError(.internal, "failed to write config.json of \(id): \(error)", cause: error)
        }
        logger.debug("bundle created", metadata: ["id": "\(id)", "lower": "\(imageRootfs)"])
        return dir
    }

    /// Unmounts the rootfs (every stacked mount, should a crash have left more than one) and deletes the bundle
    /// directory. Idempotent; refuses to delete while something is still mounted, so a busy mount can never
    /// turn into a recursive delete through the overlay.
    public func remove(id: String) throws(KumoError) {
        try SafeName.check(id, what: "container id", maxLength: 64)
        let dir = path(for: id)
        for _ in 0..<8 {
            let mounted = Self.mountPoints(under: dir)
            if mounted.isEmpty { break }
            // Deepest first: something mounted inside rootfs must go before rootfs itself.
            for point in mounted.sorted(by: { $0.count > $1.count }) {
                if umount2(point, 0) != 0 {
                    let e = errno
                    if e == EINVAL || e == ENOENT { continue }  // not (any longer) a mount point
                    if e == EBUSY, umount2(point, Int32(MNT_DETACH)) == 0 { continue }
                    throw KumoError(.internal, "failed to unmount \(point): \(String(cString: strerror(e)))")
                }
            }
        }
        if !Self.mountPoints(under: dir).isEmpty {
            throw KumoError(.internal, "failed to remove bundle \(id): \(dir) still has mounts")
        }
        guard FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.removeItem(atPath: dir)
        } catch {
            throw KumoError(.internal, "failed to remove bundle \(id): \(error)", cause: error)
        }
        logger.debug("bundle removed", metadata: ["id": "\(id)"])
    }

    /// Whether `<root>/<id>/rootfs` is currently a mount point.
    public func isMounted(id: String) -> Bool {
        Self.mountPoints(under: path(for: id)).contains(path(for: id) + "/rootfs")
    }

    /// Mount points at or below `dir` in this mount namespace, from /proc/self/mountinfo (field 5, with the
    /// kernel's octal escapes for space, tab, newline and backslash undone).
    public static func mountPoints(under dir: String) -> [String] {
        guard let text = ProcFile.read("/proc/self/mountinfo") else { return [] }
        var result: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count > 4 else { continue }
            let point = unescape(String(fields[4]))
            if point == dir || point.hasPrefix(dir + "/") { result.append(point) }
        }
        return result
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
                let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Write to a temporary file, fsync, rename: a crash leaves the old file or the new one, never half of one.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(KumoError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw KumoError(.internal, "failed to write \(path): \(String(cString: strerror(errno)))")
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(tmp)
                throw KumoError(.internal, "failed to write \(path): \(reason)")
            }
            offset += n
        }
        fsync(fd)
        close(fd)
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw KumoError(.internal, "failed to write \(path): \(reason)")
        }
    }
}
