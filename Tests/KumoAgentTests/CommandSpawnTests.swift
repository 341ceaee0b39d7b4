import Foundation
import KumoSystem
import Testing

/// `Command.spawn` and `Command.runBlocking` (the testbed's and `kumo-local`'s spawns).
@Suite struct CommandSpawnTests {
    /// 1 MiB on both stdout and stderr, from 1 MiB of stdin: reading one stream to its end before the other, or
    /// writing all of stdin before reading, would deadlock on a 64 KiB pipe.
    @Test func runBlockingMovesAllThreeStreamsAtOnce() throws {
        let input = (0..<(1 << 20)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let r = try Command().runBlocking(["tee", "/dev/stderr"], input: input)
        #expect(r.status == 0)
        #expect(r.stdout == String(decoding: input, as: UTF8.self))
        #expect(r.stderr == r.stdout)
    }

    @Test func runBlockingReportsStatusAndEnvironment() throws {
        let r = try Command().runBlocking(["sh", "-c", "echo \"$KUMO_SPAWN_TEST\"; exit 7"], environment: ["KUMO_SPAWN_TEST": "x y"])
        #expect(r.status == 7)
        #expect(r.stdout == "x y\n")
        #expect(throws: (any Error).self) { try Command().runBlocking(["/nonexistent/kumo-program"]) }
    }

    /// A child starts with no blocked and no ignored signals, whatever the spawning thread had (a test runner's
    /// thread may block SIGTERM; SIGPIPE is often ignored), so SIGTERM stops it.
    @Test func childGetsACleanSignalState() throws {
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGTERM)
        var old = sigset_t()
        pthread_sigmask(SIG_BLOCK, &block, &old)
        let previousINT = signal(SIGINT, SIG_IGN)
        let child = try Command().spawn(["sleep", "30"])
        signal(SIGINT, previousINT)
        pthread_sigmask(SIG_SETMASK, &old, nil)
        defer { child.stop(grace: .zero) }
        let status = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)) ?? ""
        let fields = Dictionary(
            status.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }, uniquingKeysWith: { a, _ in a })
        // the standard signals, 1–31 (glibc keeps its internal real-time ones, 32 and 33, to itself)
        let standard: UInt64 = (1 << 31) - 1
        #expect(fields["SigBlk"].flatMap { UInt64($0, radix: 16) }.map { $0 & standard } == 0)
        #expect(fields["SigIgn"].flatMap { UInt64($0, radix: 16) }.map { $0 & standard } == 0)
        #expect(child.isRunning)
        child.signal(SIGTERM)
        #expect(child.waitUntilExit(timeout: .seconds(5)) == 128 + SIGTERM)
    }

    @Test func spawnWaitsAndDetaches() async throws {
        let failing = try Command().spawn(["false"])
        #expect(await failing.wait() == 1)
        #expect(failing.exitStatus == 1)
        failing.signal(SIGKILL)  // after the exit: never reaches a recycled pid

        let detached = try Command().spawn(["sleep", "30"], options: SpawnOptions(newSession: true))
        defer { detached.stop(grace: .zero) }
        #expect(getsid(detached.pid) == detached.pid)
        #expect(getsid(0) != detached.pid)
    }

    @Test func spawnAppendsOutputAndClosesOtherDescriptors() throws {
        let dir = NSTemporaryDirectory() + "kumo-spawn-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/out.log"
        try Data("before\n".utf8).write(to: URL(fileURLWithPath: log))
        // a descriptor without close-on-exec must not reach the child
        // (F_DUPFD takes the lowest free descriptor from 200 up: dup2 onto a fixed number would silently close
        // whatever another test in this process holds there — a server's socket, which crashed SwiftNIO)
        let leaky = open(dir, O_RDONLY)
        let high = fcntl(leaky, F_DUPFD, 200)
        close(leaky)
        #expect(high >= 200)
        defer { close(high) }
        let child = try Command().spawn(["ls", "/proc/self/fd"], options: SpawnOptions(stdout: .append(log), stderr: .append(log)))
        #expect(child.waitUntilExit() == 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "before")
        #expect(lines.contains("1") && !lines.contains(Substring(String(high))))
    }
}
