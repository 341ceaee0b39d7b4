import Foundation
import KumoModel

/// The argv of one VM's QEMU (a pure renderer; `VMDriver` runs it inside the node's network namespace):
/// the instance's tap on `kumo0` as a virtio-net NIC with its MAC, a QMP socket for control, the serial console
/// to a log file, `-daemonize` with a pid file, and the confinement QEMU enters once the VM is set up. A `kernel`
/// image boots directly (`-kernel/-initrd/-append`); a `disk` image boots its per-instance qcow2 overlay through
/// the firmware.
public struct QEMUCommandLine: Sendable, Equatable {
    public enum Boot: Sendable, Equatable {
        case kernel(kernel: String, initrd: String, cmdline: String)
        case disk(overlay: String)
    }

    public enum Accel: String, Sendable, Equatable, Codable {
        case kvm, tcg
    }

    public var name: String
    public var vcpus: Int
    public var memoryMiB: Int64
    public var accel: Accel
    public var boot: Boot
    public var tap: String
    public var mac: String
    public var qmpSocket: String
    public var consoleLog: String
    public var pidFile: String
    public var program = "qemu-system-x86_64"
    /// Seccomp, own user, empty root (`QEMUConfinement`); nil runs QEMU as its caller, unconfined.
    public var confinement: QEMUConfinement?
    /// x86's COMMAND_LINE_SIZE is 2048 bytes including the terminating NUL.
    public static let maxCmdlineBytes = 2000

    public init(
        name: String, vcpus: Int, memoryMiB: Int64, accel: Accel, boot: Boot, tap: String, mac: String, qmpSocket: String,
        consoleLog: String, pidFile: String, confinement: QEMUConfinement? = nil
    ) {
        self.name = name
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.accel = accel
        self.boot = boot
        self.tap = tap
        self.mac = mac
        self.qmpSocket = qmpSocket
        self.consoleLog = consoleLog
        self.pidFile = pidFile
        self.confinement = confinement
    }

    public var argv: [String] {
        var argv = [
            program, "-name", "kumo-\(name)", "-accel", accel.rawValue, "-machine", "pc", "-cpu", accel == .kvm ? "host" : "max",
            "-smp", String(vcpus), "-m", "\(memoryMiB)M", "-nodefaults", "-no-user-config", "-display", "none",
            "-netdev", "tap,id=n0,ifname=\(tap),script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0,mac=\(mac)",
            "-serial", "file:\(consoleLog)",
            "-qmp", "unix:\(qmpSocket),server=on,wait=off",
            "-pidfile", pidFile, "-daemonize",
        ]
        argv += confinement?.argv ?? []
        switch boot {
        case .kernel(let kernel, let initrd, let cmdline):
            argv += ["-kernel", kernel, "-initrd", initrd, "-append", cmdline]
        case .disk(let overlay):
            argv += ["-drive", "file=\(overlay),if=virtio,format=qcow2"]
        }
        return argv
    }

    /// The kernel command line: the image's own, then Kumo's (`kumo.hostname`, and user data and SSH keys as
    /// base64 — the guest's init decodes them).
    public static func cmdline(image: String, hostname: String, userData: String?, sshKeys: [String]?) -> String {
        var parts = [image.trimmingCharacters(in: .whitespacesAndNewlines), "kumo.hostname=\(hostname)"]
        if let userData, !userData.isEmpty { parts.append("kumo.userdata=" + base64(Array(userData.utf8))) }
        if let sshKeys, !sshKeys.isEmpty { parts.append("kumo.sshkeys=" + base64(Array(sshKeys.joined(separator: "\n").utf8))) }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(table[Int(b0 >> 2)])
            out.append(table[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? table[Int((b1 & 15) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
