import Foundation
import KumoModel
import KumoSystem

extension ImageBuilder {
    /// Where Debian's busybox-static installs the binary.
    static let busyboxCandidates = ["/usr/bin/busybox", "/bin/busybox"]

    /// The demo image's root filesystem, built from the host's static busybox: `bin/busybox` and a symlink for
    /// every applet, `/etc/passwd` and `/etc/group` with root and nobody, `/tmp`, and `/www/index.html`.
    public func busyboxRootfs(busybox: String? = nil) async throws(KumoError) -> String {
        guard let binary = busybox ?? Self.busyboxCandidates.first(where: { access($0, X_OK) == 0 }) else {
            throw KumoError(
                .notFound, "busybox not found at \(Self.busyboxCandidates.joined(separator: " or ")): apt-get install busybox-static",
                field: "from-busybox")
        }
        let root = workDir + "/busybox-rootfs"
        let fm = FileManager.default
        do {
            for dir in ["bin", "etc", "tmp", "www", "root"] {
                try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
            }
            chmod(root, 0o755)
            chmod(root + "/tmp", 0o1777)
            try fm.copyItem(atPath: binary, toPath: root + "/bin/busybox")
            chmod(root + "/bin/busybox", 0o755)
        } catch {
            throw KumoError(.internal, "failed to build the busybox root filesystem in \(root): \(error)", cause: error)
        }
        let applets = try await command.check([binary, "--list"])
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0 != "busybox" && !$0.contains("/") }
        for applet in Set(applets).sorted() {
            if symlink("busybox", root + "/bin/" + applet) != 0 && errno != EEXIST {
                throw KumoError(.internal, "failed to link \(applet): \(String(cString: strerror(errno)))")
            }
        }
        let files: [(String, String)] = [
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
            (
                "www/index.html",
                "<!doctype html>\n<html><head><title>Kumo</title></head>\n<body><h1>Hello from Kumo</h1>\n"
                    + "<p>Served by busybox httpd in a Kumo replica.</p></body></html>\n"
            ),
        ]
        for (path, text) in files {
            guard fm.createFile(atPath: root + "/" + path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
                throw KumoError(.internal, "failed to write \(root)/\(path)")
            }
        }
        return root
    }
}
