import Foundation
import KumoModel
import KumoSystem
import Testing

@testable import KumoAgent

/// `ip` and `runc` have no machine-readable errors: `IPCommand.error` and `Runc.error` read their messages in
/// one place and give the error a code, and every caller tests the code. These run the real programs in a
/// throwaway namespace, so a changed message of either program shows here first.
@Suite(.serialized, .enabled(if: RuntimeFixture.canRun, "needs root, runc, iproute2 and /usr/bin/busybox"))
struct ProgramErrorCodeTests {
    /// The KumoError `body` threw (nil if none; another error type is a failure of its own).
    static func error(_ body: () async throws -> Void) async -> KumoError? {
        do {
            try await body()
            return nil
        } catch let error as KumoError {
            return error
        } catch {
            Issue.record("not a KumoError: \(error)")
            return nil
        }
    }

    @Test("ip: a missing device → notFound, EEXIST (device or namespace) → alreadyExists, anything else → internal")
    func ipCodes() async throws {
        try await RuntimeFixture.with { f in
            let ip = IPCommand(command: Command(), netns: f.hostNetns)
            let missing = await Self.error { try await ip.check(["link", "del", "dev", "kxnone"], what: "delete") }
            #expect(missing?.code == .notFound, "\(missing?.message ?? "")")
            let missingShow = await Self.error { try await ip.check(["-d", "-j", "link", "show", "dev", "kxnone"], what: "show") }
            #expect(missingShow?.code == .notFound, "\(missingShow?.message ?? "")")
            #expect(try await ip.linkExists("kxnone") == false)

            try await ip.check(["link", "add", "kxdup", "type", "bridge"], what: "add")
            #expect(try await ip.linkExists("kxdup"))
            let twice = await Self.error { try await ip.check(["link", "add", "kxdup", "type", "bridge"], what: "add again") }
            #expect(twice?.code == .alreadyExists, "\(twice?.message ?? "")")
            let inBatch = await Self.error {
                try await ip.batch(["link set dev kxdup up", "link add kxdup type bridge"], what: "batch")
            }
            #expect(inBatch?.code == .alreadyExists, "\(inBatch?.message ?? "")")

            let netns = f.prefix + "-dup"
            let host = IPCommand(command: Command(), netns: nil)
            try await host.check(["netns", "add", netns], what: "netns add")
            let netnsTwice = await Self.error { try await host.check(["netns", "add", netns], what: "netns add again") }
            #expect(netnsTwice?.code == .alreadyExists, "\(netnsTwice?.message ?? "")")
            try await host.check(["netns", "del", netns], what: "netns del")

            let other = await Self.error { try await ip.check(["route", "add", "10.0.0.0/8", "via", "10.9.9.9"], what: "route") }
            #expect(other?.code == .internal, "\(other?.message ?? "")")
            // the callers: tearing down what is not there is fine, by code
            try await f.network.tearDown(netns: f.prefix + "-gone", hostVeth: "kxgone", hostNetns: f.hostNetns)
        }
    }

    @Test("runc: a container runc does not know → notFound (signal, stats), nil (state), nothing to do (delete)")
    func runcCodes() async throws {
        try await RuntimeFixture.with { f in
            let kill = await Self.error { try await f.runc.kill("missing-\(f.prefix)") }
            #expect(kill?.code == .notFound, "\(kill?.message ?? "")")
            let stats = await Self.error { _ = try await f.runc.stats("missing-\(f.prefix)") }
            #expect(stats?.code == .notFound, "\(stats?.message ?? "")")
            #expect(try await f.runc.state("missing-\(f.prefix)") == nil)
            try await f.runc.delete("missing-\(f.prefix)", force: true)
        }
    }
}
