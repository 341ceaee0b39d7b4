import Foundation
import KumoModel
import KumoTestSupport
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

    @Test func confinedArgv() {
        let line = QEMUCommandLine(
            name: "x", vcpus: 1, memoryMiB: 128, accel: .tcg, boot: .disk(overlay: "/v/disk.qcow2"), tap: "kv1", mac: "02:6b:00:00:00:01",
            qmpSocket: "/q", consoleLog: "/c", pidFile: "/p",
            confinement: QEMUConfinement(user: 1_300_000_042, root: "/var/lib/kumo/qemu-empty-root"))
        #expect(line.argv == [
            "qemu-system-x86_64", "-name", "kumo-x", "-accel", "tcg", "-machine", "pc", "-cpu", "max", "-smp", "1", "-m", "128M",
            "-nodefaults", "-no-user-config", "-display", "none", "-netdev", "tap,id=n0,ifname=kv1,script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0,mac=02:6b:00:00:00:01", "-serial", "file:/c",
            "-qmp", "unix:/q,server=on,wait=off", "-pidfile", "/p", "-daemonize",
            "-sandbox", "on,obsolete=deny,resourcecontrol=deny", "-runas", "1300000042:1300000042",
            "-chroot", "/var/lib/kumo/qemu-empty-root",
            "-drive", "file=/v/disk.qcow2,if=virtio,format=qcow2",
        ])
        #expect(QEMUConfinement(uid: 5, gid: 6, root: nil, sandbox: false).argv == ["-runas", "5:6"])
    }

    @Test func everyVMGetsItsOwnUser() throws {
        let vms = temporaryPath("qemu-users")
        defer { try? FileManager.default.removeItem(atPath: vms) }
        let users = QEMUUsers()
        let a = users.user(for: "uid-a", vmsDir: vms)
        #expect(a == users.user(for: "uid-a", vmsDir: vms), "stable while reserved")
        #expect(a > QEMUConfinement.probeUser && a < QEMUConfinement.firstUser + QEMUConfinement.userCount)
        #expect(a == QEMUUsers.pick(for: "uid-a", taken: []), "derived from the instance uid")
        // taken by another VM's record (an agent restart forgot the reservations): the next one
        try FileManager.default.createDirectory(atPath: vms + "/uid-b", withIntermediateDirectories: true)
        InstanceRecord(uid: "uid-b", project: "p", name: "b", tap: "kv", mac: "m", ip: "i", accel: "tcg", qemuUser: QEMUUsers.pick(for: "uid-c", taken: []))
            .save(vms + "/uid-b/record.json")
        let c = QEMUUsers().user(for: "uid-c", vmsDir: vms)
        #expect(c == QEMUUsers.pick(for: "uid-c", taken: []) + 1 || c == QEMUConfinement.firstUser + 1)
        #expect(QEMUUsers().user(for: "uid-b", vmsDir: vms) == QEMUUsers.pick(for: "uid-c", taken: []), "a recorded user is kept")
        // a user taken already (reserved or recorded) is never handed out again: the next free one
        #expect(QEMUUsers.pick(for: "x", taken: [QEMUUsers.pick(for: "x", taken: [])]) != QEMUUsers.pick(for: "x", taken: []))
        users.release("uid-a")
        #expect(InstanceRecord.load(vms + "/uid-b/record.json")?.qemuUser != nil)
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
        let path = temporaryPath("console")
        try Data("\u{1b}c\u{1b}[?7l\u{1b}[2Jkumo-guest: init\r\nline 2\r\n[    1.0] Kernel panic - not syncing\r\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(InstanceRunner.tail(of: path, lines: 2) == "line 2\n[    1.0] Kernel panic - not syncing")
        #expect(InstanceRunner.tail(of: path, lines: 5)?.hasPrefix("kumo-guest: init") == true)
    }
}
