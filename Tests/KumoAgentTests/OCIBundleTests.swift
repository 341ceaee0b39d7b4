import Foundation
import KumoAgent
import KumoModel
import Testing

@Suite struct OCIBundleTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/oci-config.json")

    static let spec = BundleSpec(
        id: "web-7f9c", args: ["/bin/server", "--port", "8080"], env: ["GREETING=hello world", "EMPTY="],
        cwd: "/srv", hostname: "web-7f9c", netnsPath: "/run/netns/kumo-0123456789ab", cpuMillicores: 250,
        memoryBytes: 256 << 20, cgroupsPath: "/kumo/web-7f9c",
        tmpfsMounts: [TmpfsMount(destination: "/run/secrets", sizeBytes: 1 << 20, mode: "0700")])

    /// The whole document is pinned; regenerate with KUMO_UPDATE_GOLDEN=1 after an intended change and review
    /// the diff.
    @Test func matchesGoldenFile() throws {
        let bytes = try OCIBundle.json(OCIBundle.config(for: Self.spec))
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
            try Data(bytes).write(to: Self.golden)
        }
        let expected = try Data(contentsOf: Self.golden)
        #expect(String(decoding: bytes, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func limitsFollowTheSpec() throws {
        let config = try OCIBundle.config(for: Self.spec)
        #expect(config.linux.resources.cpu?.quota == 25_000)
        #expect(config.linux.resources.cpu?.period == 100_000)
        #expect(config.linux.resources.memory?.limit == 256 << 20)
        #expect(config.linux.resources.pids?.limit == 1024)
        #expect(config.process.terminal == false)
        #expect(config.process.env.first == OCIBundle.defaultPath)
        #expect(config.linux.namespaces.first { $0.type == "network" }?.path == "/run/netns/kumo-0123456789ab")
        var unlimited = Self.spec
        unlimited.cpuMillicores = nil
        unlimited.memoryBytes = nil
        unlimited.netnsPath = nil
        let u = try OCIBundle.config(for: unlimited)
        #expect(u.linux.resources.cpu == nil)
        #expect(u.linux.resources.memory == nil)
        #expect(u.linux.namespaces.first { $0.type == "network" }?.path == nil)
        let json = String(decoding: try OCIBundle.json(u), as: UTF8.self)
        #expect(!json.contains("\"cpu\""))
    }

    @Test func rejectsUnsafeInput() {
        for bad in ["../x", "a/b", "$(id)", "", String(repeating: "a", count: 65), "-x"] {
            var s = Self.spec
            s.id = bad
            #expect(throws: KumoError.self) { try OCIBundle.config(for: s) }
        }
        var s = Self.spec
        s.args = []
        #expect(throws: KumoError.self) { try OCIBundle.config(for: s) }
        s = Self.spec
        s.cgroupsPath = "/kumo/../../etc"
        #expect(throws: KumoError.self) { try OCIBundle.config(for: s) }
        s = Self.spec
        s.memoryBytes = 1024
        #expect(throws: KumoError.self) { try OCIBundle.config(for: s) }
        s = Self.spec
        s.env = ["NOEQUALS"]
        #expect(throws: KumoError.self) { try OCIBundle.config(for: s) }
    }
}
