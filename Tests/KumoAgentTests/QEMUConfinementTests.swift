import Foundation
import KumoModel
import KumoSystem
import KumoTestSupport
import Testing

@testable import KumoAgent

#if canImport(Glibc)
    import Glibc
#endif

/// A confined QEMU for real (TCG, no guest): started as root with a tap in a throwaway namespace, it ends up as
/// its own user, without capabilities, under seccomp, in the empty root — and still answers QMP on the socket it
/// opened before the drop.
@Suite(.enabled(if: getuid() == 0 && programExists("qemu-system-x86_64") && programExists("nsenter"), "needs root and qemu"))
struct QEMUConfinementTests {
    static func status(_ pid: Int32) -> [String: String] {
        var out: [String: String] = [:]
        for line in (ProcFile.read("/proc/\(pid)/status") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return out
    }

    @Test func emptyRootIsRefusedWhenNotEmpty() throws {
        let dir = temporaryPath("qemu-root")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let root = QEMUConfinement.emptyRoot(dataDir: dir)
        try QEMUConfinement.prepareEmptyRoot(root)
        try QEMUConfinement.prepareEmptyRoot(root)  // idempotent
        var st = stat()
        #expect(stat(root, &st) == 0 && st.st_mode & 0o7777 == 0o755 && st.st_uid == 0)
        FileManager.default.createFile(atPath: root + "/planted", contents: Data())
        #expect(throws: KumoError.self) { try QEMUConfinement.prepareEmptyRoot(root) }
    }

    @Test func confinedQEMUKeepsItsTapAndQMP() async throws {
        let ns = "kqc\(getpid() % 100000)"
        let dir = NSTemporaryDirectory() + "kumo-qemu-confined-\(ns)"
        let tap = "kvtest\(getpid() % 10000)"
        let pidFile = dir + "/qemu.pid", qmp = dir + "/qmp.sock", log = dir + "/console.log"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try await Command().check(["ip", "netns", "add", ns])
        func cleanUp() async {
            if let pid = VMDriver.runningPid(pidFile: pidFile) { kill(pid, SIGKILL) }
            _ = try? await Command().run(["ip", "netns", "del", ns])
            try? FileManager.default.removeItem(atPath: dir)
        }
        do {
            try await Command().check(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap"])
            let root = QEMUConfinement.emptyRoot(dataDir: dir)
            try QEMUConfinement.prepareEmptyRoot(root)
            let confinement = QEMUConfinement(user: QEMUUsers.pick(for: ns, taken: []), root: root)
            let line = QEMUCommandLine(
                name: "confined-test", vcpus: 1, memoryMiB: 32, accel: .tcg, boot: .disk(overlay: "/dev/null"), tap: tap,
                mac: "02:6b:00:00:00:42", qmpSocket: qmp, consoleLog: log, pidFile: pidFile, confinement: confinement)
            // no disk: the firmware alone is enough to check the process, so leave out the -drive of `.disk`
            let argv = ["nsenter", "--net=/run/netns/\(ns)"] + line.argv.dropLast(2)
            let r = try await Command().run(Array(argv))
            #expect(r.succeeded, "qemu: \(r.stderr)")
            let pid = try #require(VMDriver.runningPid(pidFile: pidFile))
            let s = Self.status(pid)
            let user = String(confinement.uid)
            #expect(s["Uid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == user } == true, "\(s["Uid"] ?? "")")
            #expect(s["Gid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == user } == true, "\(s["Gid"] ?? "")")
            #expect(s["Groups"] == user)
            #expect(s["Seccomp"] == "2", "seccomp filter mode")
            #expect(s["CapEff"] == "0000000000000000")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") == root)
            // the tap was opened before the drop: QEMU holds it
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            #expect(fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == "/dev/net/tun" })
            let status = try QMPClient.execute(socket: qmp, command: "query-status")
            #expect(status["status"] == "running", "\(status)")
            _ = try? QMPClient.execute(socket: qmp, command: "quit")
            let deadline = ContinuousClock.now + .seconds(5)
            while VMDriver.isQEMU(pid: pid, pidFile: pidFile), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!VMDriver.isQEMU(pid: pid, pidFile: pidFile), "QEMU quit")
            #expect(FileManager.default.fileExists(atPath: pidFile), "outside its root, QEMU cannot remove its pid file: the agent does")
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }
}
