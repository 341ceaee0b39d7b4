import KumoSystem
import Testing

@Suite struct CommandTests {
    @Test func capturesOutputAndStatus() async throws {
        let r = try await Command().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(r.status == 3)
        #expect(r.stdout == "out\n")
        #expect(r.stderr == "err\n")
    }

    @Test func argumentsNeverReachAShell() async throws {
        let hostile = "$(touch /tmp/kumo-pwned); `id`; rm -rf /"
        let out = try await Command().check(["echo", hostile])
        #expect(out == hostile + "\n")
    }

    @Test func failureNamesProgramAndStderr() async throws {
        do {
            try await Command().check(["ls", "/nonexistent-kumo-path"])
            Issue.record("expected a failure")
        } catch {
            #expect(error.message.contains("ls /nonexistent-kumo-path failed"))
            #expect(error.message.contains("No such file"))
        }
    }

    @Test func stdinIsWritten() async throws {
        let out = try await Command().check(["cat"], input: Array("hello".utf8))
        #expect(out == "hello")
    }
}
