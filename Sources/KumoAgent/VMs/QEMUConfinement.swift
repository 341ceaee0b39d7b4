import Foundation
import KumoModel

#if canImport(Glibc)
    import Glibc
#endif

/// How a QEMU is confined once its VM is set up: a seccomp filter, an unprivileged user of its own, and an
/// empty root directory. The agent starts QEMU as root because it must open what only root may — `/dev/kvm` and
/// `/dev/net/tun` (0600), and the agent's tap by name — and QEMU opens everything it will ever need (tap, disk
/// overlay, kernel and initrd, serial log, QMP socket, pid file) before it confines itself. A guest that escapes
/// into QEMU then holds a process with no capabilities, a uid no other VM shares (it cannot signal or trace
/// another VM's QEMU), nothing to see on the file system, and no way to exec, raise its limits or use obsolete
/// system calls.
///
/// Rendered for QEMU 7.2 (Debian 12), measured there:
/// - `-sandbox on,obsolete=deny,resourcecontrol=deny`. Not `spawn=deny` — it makes `-daemonize`'s fork fail —
///   and not `elevateprivileges=deny|children`: they forbid the setsid of `-daemonize` and the setuid of
///   `-runas`, and QEMU dies of SIGSYS. The filter is installed before the privileges are dropped, so it cannot
///   forbid setuid; after the drop there is nothing left to elevate to.
/// - `-runas UID:GID` numeric (no passwd entry needed; QEMU sets its groups to just GID and checks it cannot
///   become root again). QEMU 9.1 renames it `-run-with user=`.
/// - `-chroot DIR` (QEMU 8.1 deprecates it for `-run-with chroot=`).
/// Because of the chroot QEMU cannot remove its pid file and QMP socket at exit: the agent removes them.
public struct QEMUConfinement: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// An empty root-owned 0755 directory.
    public var root: String?
    public var sandbox = true

    public init(uid: UInt32, gid: UInt32, root: String?, sandbox: Bool = true) {
        self.uid = uid
        self.gid = gid
        self.root = root
        self.sandbox = sandbox
    }

    /// The confinement for `user` (uid = gid) in `root`.
    public init(user: UInt32, root: String?) {
        self.init(uid: user, gid: user, root: root)
    }

    public var argv: [String] {
        var argv: [String] = []
        if sandbox { argv += ["-sandbox", "on,obsolete=deny,resourcecontrol=deny"] }
        argv += ["-runas", "\(uid):\(gid)"]
        if let root { argv += ["-chroot", root] }
        return argv
    }

    /// The users QEMUs run as: numeric, far above any real account or subordinate id range, one per VM.
    public static let firstUser: UInt32 = 1_300_000_000
    public static let userCount: UInt32 = 1 << 20
    /// The accelerator probe's (it boots no guest, but runs the same way).
    public static let probeUser = firstUser

    /// The empty directory confined QEMUs of the agent with data directory `dataDir` see as `/`.
    public static func emptyRoot(dataDir: String) -> String { dataDir + "/qemu-empty-root" }

    /// Makes `path` an empty, root-owned, 0755 directory (creates it when missing) so a confined QEMU can read
    /// nothing and write nothing there; refuses one that has entries or another owner.
    public static func prepareEmptyRoot(_ path: String) throws(KumoError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw KumoError(.internal, "failed to create QEMU's empty root \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw KumoError(.internal, "QEMU's empty root \(path) is not a directory")
        }
        guard st.st_uid == 0 else {
            throw KumoError(.internal, "QEMU's empty root \(path) belongs to uid \(st.st_uid), not root")
        }
        if st.st_mode & 0o7777 != 0o755 { chmod(path, 0o755) }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard entries.isEmpty else {
            throw KumoError(.internal, "QEMU's empty root \(path) is not empty (\(entries.prefix(3).joined(separator: ", ")))")
        }
    }

    /// Whether QEMU can be confined here: dropping to another user and chroot need root.
    public static var available: Bool { geteuid() == 0 }
}
