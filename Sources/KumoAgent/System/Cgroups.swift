import Foundation
import KumoModel

#if canImport(Glibc)
    import Glibc
#endif

/// The v1 cgroup tree as runc's cgroupfs driver lays it out: one directory per controller hierarchy under
/// `/sys/fs/cgroup/<controller>/<cgroupsPath>`. `runc delete` normally removes a container's directories, but a
/// container killed mid-way (or an agent crash between create and delete) can leave some behind, so the
/// runner removes them explicitly after deleting.
public enum Cgroups {
    public static let mountRoot = "/sys/fs/cgroup"

    /// Whether a directory for `cgroupsPath` exists in any hierarchy.
    public static func exists(_ cgroupsPath: String, root: String = mountRoot) -> Bool {
        hierarchies(root: root).contains { FileManager.default.fileExists(atPath: $0 + cgroupsPath) }
    }

    /// Removes `cgroupsPath` (and any child cgroups) from every hierarchy; missing ones are fine. A cgroup that
    /// still has processes cannot be removed (EBUSY): that is reported, since it means something still runs.
    public static func remove(_ cgroupsPath: String, root: String = mountRoot) throws(KumoError) {
        guard cgroupsPath.hasPrefix("/"), cgroupsPath.count > 1,
            !cgroupsPath.split(separator: "/").contains("..")
        else {
            throw KumoError(.invalid, "invalid cgroups path \"\(cgroupsPath.prefix(80))\"")
        }
        var busy: [String] = []
        for hierarchy in hierarchies(root: root) {
            removeTree(hierarchy + cgroupsPath, busy: &busy)
        }
        if !busy.isEmpty {
            throw KumoError(.internal, "failed to remove cgroup \(cgroupsPath): still in use in \(busy.joined(separator: ", "))")
        }
    }

    /// Controller directories (`cpu`, `memory`, …, `unified`), following the symlinks such as `cpu,cpuacct`.
    static func hierarchies(root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted().map { root + "/" + $0 }
    }

    /// cgroup directories go with rmdir, children first (their control files cannot be unlinked).
    static func removeTree(_ path: String, busy: inout [String]) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return }
        for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            var childIsDir: ObjCBool = false
            let childPath = path + "/" + child
            if FileManager.default.fileExists(atPath: childPath, isDirectory: &childIsDir), childIsDir.boolValue {
                removeTree(childPath, busy: &busy)
            }
        }
        if rmdir(path) != 0 && errno != ENOENT { busy.append(path) }
    }
}
