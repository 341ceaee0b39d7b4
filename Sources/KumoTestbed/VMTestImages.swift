import Foundation
import KumoModel

/// The tiny test VM images (`scripts/build-vm-images.sh`: a Debian kernel + busybox initramfs, and a bootable
/// raw disk), built once into `~/.cache/kumo/vm-images` (or `$KUMO_VM_IMAGES`) and reused.
public enum VMTestImages {
    public struct Paths: Sendable {
        public var kernel: String
        public var initrd: String
        public var cmdline: String
        public var disk: String?
    }

    public static var available: Bool {
        LocalCloud.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-img")
            && (FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq") || FileManager.default.isExecutableFile(atPath: "/usr/bin/dnsmasq"))
    }

    /// Builds (first time) and returns the image files. `repository` is the checkout holding `scripts/`.
    public static func ensure(repository: String) throws -> Paths {
        let script = repository + "/scripts/build-vm-images.sh"
        let r = try LocalCloud.sh([script], check: true)
        let dir = r.out.split(separator: "\n").last.map(String.init) ?? ""
        guard FileManager.default.fileExists(atPath: dir + "/kernel/vmlinuz") else {
            throw KumoError(.internal, "build-vm-images.sh did not produce \(dir)/kernel/vmlinuz: \(r.err)")
        }
        let cmdline = (try? String(contentsOfFile: dir + "/kernel/cmdline", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "console=ttyS0"
        let disk = dir + "/disk.img"
        return Paths(
            kernel: dir + "/kernel/vmlinuz", initrd: dir + "/kernel/initrd.img", cmdline: cmdline,
            disk: FileManager.default.fileExists(atPath: disk) ? disk : nil)
    }
}
