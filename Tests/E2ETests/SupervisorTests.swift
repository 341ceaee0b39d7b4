import Foundation
import KumoTestSupport
import KumoTestbed
import Testing

/// `kumo-local supervise` (what scripts/supervise.sh was): restarts a crashed daemon with a line in its log,
/// keeps NAME.pid on the daemon and NAME.supervisor.pid on the loop, and on SIGTERM stops the daemon and itself.
/// The `kumo-local` binary, built next to `kumo`.
private let kumoLocal = URL(fileURLWithPath: KumoBinary.path).deletingLastPathComponent().path + "/kumo-local"

@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: kumoLocal), "needs kumo-local built"))
struct SupervisorTests {
    func launch(_ argv: [String], in dir: String) throws -> SupervisedDaemon {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let daemon = try SupervisedLauncher(supervisor: kumoLocal, dir: dir).launch(
            DaemonSpec(name: "d", argv: argv, log: dir + "/d.log", needsRoot: true))
        return try #require(daemon as? SupervisedDaemon)
    }

    func log(_ dir: String) -> String { (try? String(contentsOfFile: dir + "/d.log", encoding: .utf8)) ?? "" }

    @Test func restartsACrashedDaemonAndStopsOnSIGTERM() async throws {
        let dir = tempDir("supervise")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try launch(["/bin/sleep", "1000"], in: dir)
        #expect(PidFile.read(dir + "/d.supervisor.pid") == d.loop.pid)
        var first: Int32 = 0
        try await eventually("the daemon's pid", timeout: .seconds(5)) {
            first = d.pid ?? 0
            return first > 0 && (try? String(contentsOfFile: "/proc/\(first)/comm", encoding: .utf8)) == "sleep\n"
        }
        kill(first, SIGKILL)
        try await eventually("a new daemon", timeout: .seconds(5)) { (d.pid ?? first) != first }
        #expect(log(dir).contains("kumo-local supervise: sleep exited with status 137 after 0s; restarting in 1s\n"))
        #expect(d.hasExited && d.exitStatus == nil, "crashed and restarted; the loop runs on")
        let second = try #require(d.pid)
        kill(d.loop.pid, SIGTERM)
        #expect(d.loop.waitUntilExit(timeout: .seconds(10)) == 0)
        #expect(kill(second, 0) != 0, "the daemon stopped with the loop")
        #expect(!FileManager.default.fileExists(atPath: dir + "/d.pid"))
        #expect(log(dir).components(separatedBy: "restarting").count == 2, "no restart after SIGTERM: \(log(dir))")
    }

    @Test func backsOffWhileTheDaemonKeepsFailing() async throws {
        let dir = tempDir("supervise-fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try launch(["/bin/false"], in: dir)
        defer { d.stop(kill9: false) }
        try await eventually("two restarts", timeout: .seconds(8)) { log(dir).contains("restarting in 2s") }
        #expect(log(dir).contains("kumo-local supervise: false exited with status 1 after 0s; restarting in 1s\n"))
        #expect(d.hasExited && d.exitStatus == nil, "restarting, not ended")
        let missing = try launch(["/nonexistent/daemon"], in: dir + "/m")
        defer { missing.stop(kill9: false) }
        try await eventually("a spawn failure reported", timeout: .seconds(5)) {
            log(dir + "/m").contains("daemon exited with status 127 after 0s (failed to run /nonexistent/daemon")
        }
    }
}
