import Foundation
import KumoModel
import KumoSystem

/// Applies image layers, in order, onto a root directory: OCI whiteouts first (`.wh.<name>` deletes `<name>`
/// from lower layers, `.wh..wh..opq` empties its directory of lower-layer content), then the layer's files with
/// the markers themselves left out. Entries that would land outside the root — `..` in a name, or a path through
/// an existing symlink that points out of the root — refuse the whole layer before anything of it is written.
struct LayerUnpacker: Sendable {
    let tar: Tar

    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"

    func apply(_ layer: String, gzip: Bool, onto root: String) async throws(KumoError) {
        let compression: Tar.Compression = gzip ? .gzip : .none
        let entries = try await tar.list(layer, compression: compression)
        let realRoot = try Self.realPath(root)
        var opaque: [String] = []
        var whiteouts: [String] = []
        for entry in entries {
            guard let path = try Tar.memberPath(entry) else { continue }
            let slash = path.lastIndex(of: "/")
            let parent = slash.map { String(path[..<$0]) } ?? ""
            let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
            try Self.requireInside(realRoot, root + "/" + parent, entry: entry)
            if base == Self.opaqueMarker {
                opaque.append(parent)
            } else if base.hasPrefix(Self.whiteoutPrefix) {
                let target = String(base.dropFirst(Self.whiteoutPrefix.count))
                guard !target.isEmpty else { continue }
                whiteouts.append(parent.isEmpty ? target : parent + "/" + target)
            }
        }
        let fm = FileManager.default
        for dir in opaque {
            let full = dir.isEmpty ? root : root + "/" + dir
            guard Self.isRealDirectory(full) else { continue }
            for child in (try? fm.contentsOfDirectory(atPath: full)) ?? [] {
                try Self.remove(full + "/" + child)
            }
        }
        for path in whiteouts {
            var st = stat()
            if lstat(root + "/" + path, &st) == 0 { try Self.remove(root + "/" + path) }
        }
        try await tar.extract(layer, into: root, compression: compression, excludingWhiteouts: true)
    }

    /// `path` (or its deepest existing ancestor), with symlinks resolved, must be `root` or below it.
    static func requireInside(_ realRoot: String, _ path: String, entry: String) throws(KumoError) {
        var probe = path
        var st = stat()
        while stat(probe, &st) != 0 {
            var st2 = stat()
            if lstat(probe, &st2) == 0 {
                // a dangling symlink on the way: where it points decides
                throw KumoError(.invalid, "layer entry \"\(entry)\" goes through a dangling symlink at \(probe)")
            }
            guard let slash = probe.lastIndex(of: "/"), slash > probe.startIndex else { break }
            probe = String(probe[..<slash])
        }
        let resolved = try realPath(probe)
        guard resolved == realRoot || resolved.hasPrefix(realRoot + "/") else {
            throw KumoError(
                .invalid, "layer entry \"\(entry)\" would be written outside the image root (through \(probe) → \(resolved))")
        }
    }

    static func realPath(_ path: String) throws(KumoError) -> String {
        guard let p = realpath(path, nil) else {
            throw KumoError(.internal, "failed to resolve \(path): \(String(cString: strerror(errno)))")
        }
        defer { free(p) }
        return String(cString: p)
    }

    static func isRealDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes a file, symlink (not its target) or directory tree.
    static func remove(_ path: String) throws(KumoError) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw KumoError(.internal, "failed to remove \(path): \(error)", cause: error)
        }
    }
}
