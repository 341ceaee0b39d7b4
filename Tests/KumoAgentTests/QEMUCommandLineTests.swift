import Foundation
import KumoModel
import Testing

@testable import KumoAgent

struct QEMUCommandLineTests {
    @Test func kernelBootArgv() {
        let line = QEMUCommandLine(
            name: "demo-vm1", vcpus: 2, memoryMiB: 256, accel: .tcg,
            boot: .kernel(kernel: "/c/kernel", initrd: "/c/initrd", cmdline: "console=ttyS0 kumo.hostname=vm1"), tap: "kv0123456789ab",
            mac: "02:6b:0a:f4:02:05", qmpSocket: "/v/qmp.sock", consoleLog: "/v/console.log", pidFile: "/v/qemu.pid")
        #expect(line.argv == [
            "qemu-system-x86_64", "-name", "kumo-demo-vm1", "-accel", "tcg", "-machine", "pc", "-cpu", "max", "-smp", "2", "-m", "256M",
            "-nodefaults", "-no-user-config", "-display", "none", "-netdev", "tap,id=n0,ifname=kv0123456789ab,script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0,mac=02:6b:0a:f4:02:05", "-serial", "file:/v/console.log",
            "-qmp", "unix:/v/qmp.sock,server=on,wait=off", "-pidfile", "/v/qemu.pid", "-daemonize",
            "-kernel", "/c/kernel", "-initrd", "/c/initrd", "-append", "console=ttyS0 kumo.hostname=vm1",
        ])
    }

    @Test func diskBootAndKVM() {
        let line = QEMUCommandLine(
            name: "x", vcpus: 1, memoryMiB: 128, accel: .kvm, boot: .disk(overlay: "/v/disk.qcow2"), tap: "kv1", mac: "02:6b:00:00:00:01",
            qmpSocket: "/q", consoleLog: "/c", pidFile: "/p")
        #expect(line.argv.suffix(2) == ["-drive", "file=/v/disk.qcow2,if=virtio,format=qcow2"])
        #expect(line.argv.contains("host"))
    }

    @Test func cmdlineCarriesUserDataAsBase64() {
        let c = QEMUCommandLine.cmdline(image: " console=ttyS0 ", hostname: "vm1", userData: "#!/bin/sh\necho hi", sshKeys: ["ssh-ed25519 AAAA k"])
        #expect(c == "console=ttyS0 kumo.hostname=vm1 kumo.userdata=IyEvYmluL3NoCmVjaG8gaGk= kumo.sshkeys=c3NoLWVkMjU1MTkgQUFBQSBr")
        #expect(QEMUCommandLine.base64(Array("ab".utf8)) == Data("ab".utf8).base64EncodedString())
    }

    @Test func tapNamesAreStableAndShort() {
        let a = VMDriver.tapName(uid: "4f1c2a9e-0000-4000-8000-000000000001")
        #expect(a == VMDriver.tapName(uid: "4f1c2a9e-0000-4000-8000-000000000001"))
        #expect(a.count == 14 && a.hasPrefix("kv") && a != VMDriver.tapName(uid: "other"))
    }

    @Test func consoleTailDropsEscapes() throws {
        let path = NSTemporaryDirectory() + "kumo-console-\(UUID().uuidString.prefix(6))"
        try Data("\u{1b}c\u{1b}[?7l\u{1b}[2Jkumo-guest: init\r\nline 2\r\n[    1.0] Kernel panic - not syncing\r\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(InstanceRunner.tail(of: path, lines: 2) == "line 2\n[    1.0] Kernel panic - not syncing")
        #expect(InstanceRunner.tail(of: path, lines: 5)?.hasPrefix("kumo-guest: init") == true)
    }
}
