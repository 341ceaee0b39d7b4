import Foundation
import KumoModel
import Testing

@testable import KumoAgent

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct NamingTests {
    @Test func hostVethNamesFitIFNAMSIZ() {
        let name = PodNetwork.hostVethName(uid: "0f8e9a6c-1111-2222-3333-444455556666")
        #expect(name.count == 12)
        #expect(name.hasPrefix("kv"))
        #expect(name == PodNetwork.hostVethName(uid: "0f8e9a6c-1111-2222-3333-444455556666"))
        #expect(name != PodNetwork.hostVethName(uid: "other"))
        #expect(SafeName.reason(name, maxLength: 15) == nil)
    }

    @Test func netnsNamesCarryThePrefix() throws {
        let name = try PodNetwork.netnsName(prefix: "kumo", uid: "abc")
        #expect(name.hasPrefix("kumo-"))
        #expect(name.count == 17)
        #expect(throws: KumoError.self) { try PodNetwork.netnsName(prefix: "a b", uid: "abc") }
        #expect(throws: KumoError.self) { try PodNetwork.netnsName(prefix: "../x", uid: "abc") }
    }

    @Test func hostileNamesAreRefused() {
        for bad in ["a;b", "$(id)", "a b", "../..", "a/b", "x\n", "", "-rf"] {
            #expect(SafeName.reason(bad) != nil, "\(bad)")
        }
        #expect(throws: KumoError.self) { try SafeName.checkInterface("sixteen-chars-xx") }
        #expect(throws: KumoError.self) { try SafeName.checkPath("/a,upperdir=/etc", what: "path") }
        #expect(throws: KumoError.self) { try SafeName.checkPath("relative", what: "path") }
        #expect(PodNetwork.isMAC("02:6c:0a:f4:4d:0a"))
        #expect(!PodNetwork.isMAC("03:6c:0a:f4:4d:0a"))
        #expect(!PodNetwork.isMAC("02:6c:0a:f4:4d"))
        #expect(!PodNetwork.isMAC("02:6c:0a:f4:4d:zz"))
    }

    @Test func bridgeGatewayIsDotOne() throws {
        let bridge = try HostBridge(podCIDR: IPv4Network("10.244.3.0/24")!, logger: .init(label: "t"))
        #expect(bridge.gateway.description == "10.244.3.1")
        #expect(throws: KumoError.self) {
            try HostBridge(name: "name-longer-than-15", podCIDR: IPv4Network("10.244.3.0/24")!, logger: .init(label: "t"))
        }
    }
}

@Suite struct RuncParsingTests {
    @Test func decodesStateAndList() throws {
        let state = try Runc.decode(
            RuncState.self,
            #"{"ociVersion":"1.0.2-dev","id":"a","pid":42,"status":"running","bundle":"/b/a","rootfs":"/b/a/rootfs","created":"2026-11-26T17:50:28.1Z","owner":""}"#,
            what: "t")
        #expect(state == RuncState(id: "a", pid: 42, status: .running, bundle: "/b/a", created: "2026-11-26T17:50:28.1Z"))
        #expect(try Runc.decode([RuncState]?.self, "null\n", what: "t") == nil)
        let odd = try Runc.decode(
            RuncState.self, #"{"id":"a","pid":0,"status":"creating","bundle":"/b","created":"x"}"#, what: "t")
        #expect(odd.status == .unknown)
    }

    @Test func decodesStats() throws {
        let text = #"{"type":"stats","id":"a","data":{"cpu":{"usage":{"total":123,"percpu":[1],"kernel":1,"user":2},"throttling":{"periods":5,"throttledPeriods":2,"throttledTime":99}},"memory":{"usage":{"limit":67108864,"usage":1000,"max":2000,"failcnt":3}},"pids":{"current":2,"limit":64}}}"#
        let event = try Runc.decode(RuncStats.Event.self, text, what: "t")
        let stats = RuncStats(try #require(event.data))
        #expect(stats.memoryLimitBytes == 64 << 20)
        #expect(stats.memoryUsageBytes == 1000)
        #expect(stats.memoryFailcnt == 3)
        #expect(stats.cpuUsageNanoseconds == 123)
        #expect(stats.cpuThrottledPeriods == 2)
        #expect(stats.pidsCurrent == 2)
        #expect(stats.pidsLimit == 64)
    }

    /// cgroup v2 without a memory limit: runc reports UInt64.max, which a JSON double cannot hold exactly.
    @Test func decodesUnlimitedStats() throws {
        let text = #"{"type":"stats","id":"a","data":{"memory":{"usage":{"limit":18446744073709551615,"usage":4096}},"pids":{"current":1,"limit":0}}}"#
        let stats = RuncStats(try #require(try Runc.decode(RuncStats.Event.self, text, what: "t").data))
        #expect(stats.memoryLimitBytes == .max)
        #expect(stats.memoryUsageBytes == 4096)
        #expect(stats.pidsLimit == 0)
    }

    @Test func quotesRuncMessages() {
        let stderr = "time=\"2026\" level=error msg=\"container does not exist\"\n"
        #expect(Runc.message(stderr: stderr, status: 1) == "container does not exist")
    }

    @Test func reaperKnowsWhatIsNotItsChild() throws {
        let reaper = try ChildReaper(logger: .init(label: "t"))
        #expect(ChildReaper.isSubreaper)
        #expect(reaper.status(of: 1) == .notAChild)
        #expect(reaper.exitStatus(of: 1) == nil)
        #expect(reaper.status(of: -1) == .notAChild)
        #expect(reaper.status(of: 0) == .notAChild)
    }

    @Test func waitStatusDecoding() {
        #expect(ChildReaper.decode(7 << 8) == 7)
        #expect(ChildReaper.decode(9) == 137)
        #expect(ChildReaper.decode(15) == 143)
        #expect(ChildReaper.decode(0) == 0)
    }
}

@Suite struct ContainerLogTests {
    func withDir<T>(_ body: (String) async throws -> T) async throws -> T {
        var template = Array("/tmp/kumo-logtest-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw KumoError(.internal, "mkdtemp failed")
        }
        let dir = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try await body(dir)
    }

    func append(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func tailRotateAndRemove() async throws {
        try await withDir { dir in
            let log = try ContainerLog(directory: dir, id: "c1", maxBytes: 100, keep: 2)
            let fd = try log.open()
            defer { close(fd) }
            var st = stat()
            #expect(stat(log.path, &st) == 0 && st.st_mode & 0o777 == 0o640)
            #expect(try log.tail(lines: 3) == "")
            for i in 1...5 { append(fd, "line \(i)\n") }
            #expect(try log.tail(lines: 2) == "line 4\nline 5\n")
            #expect(try log.tail(lines: 50) == (1...5).map { "line \($0)\n" }.joined())
            #expect(try log.rotateIfNeeded() == false)

            append(fd, String(repeating: "x", count: 100) + "\n")
            #expect(try log.rotateIfNeeded() == true)
            #expect(log.size() == 0)
            // The writer keeps its descriptor; O_APPEND puts the next write at the new end.
            append(fd, "after\n")
            #expect(try log.tail(lines: 5) == "after\n")
            #expect(try String(contentsOfFile: log.rotatedPath(1), encoding: .utf8).hasPrefix("line 1\n"))

            append(fd, String(repeating: "y", count: 120) + "\n")
            try log.rotateIfNeeded()
            append(fd, String(repeating: "z", count: 120) + "\n")
            try log.rotateIfNeeded()
            #expect(try String(contentsOfFile: log.rotatedPath(1), encoding: .utf8).hasPrefix("zzz"))
            #expect(try String(contentsOfFile: log.rotatedPath(2), encoding: .utf8).hasPrefix("after"))
            #expect(!FileManager.default.fileExists(atPath: log.rotatedPath(3)))

            log.remove()
            #expect(!FileManager.default.fileExists(atPath: log.path))
            #expect(!FileManager.default.fileExists(atPath: log.rotatedPath(1)))
            log.remove()
        }
    }

    @Test func followStreamsNewBytes() async throws {
        try await withDir { dir in
            let log = try ContainerLog(directory: dir, id: "c2")
            let fd = try log.open()
            defer { close(fd) }
            append(fd, "old\n")
            let stream = log.follow(interval: .milliseconds(10))
            let reader = Task { () throws -> String in
                var got: [UInt8] = []
                for try await chunk in stream {
                    got += chunk
                    if String(decoding: got, as: UTF8.self).contains("second\n") { break }
                }
                return String(decoding: got, as: UTF8.self)
            }
            try await Task.sleep(for: .milliseconds(50))
            append(fd, "first\n")
            try await Task.sleep(for: .milliseconds(50))
            append(fd, "second\n")
            let text = try await reader.value
            #expect(text == "first\nsecond\n")

            // After a copy-and-truncate rotation the follower starts again from the top of the file.
            let rotating = try ContainerLog(directory: dir, id: "c2", maxBytes: 1)
            let stream2 = rotating.follow(interval: .milliseconds(10))
            let reader2 = Task { () throws -> String in
                var got: [UInt8] = []
                for try await chunk in stream2 {
                    got += chunk
                    if String(decoding: got, as: UTF8.self).contains("third\n") { break }
                }
                return String(decoding: got, as: UTF8.self)
            }
            try await Task.sleep(for: .milliseconds(50))
            #expect(try rotating.rotateIfNeeded())
            try await Task.sleep(for: .milliseconds(50))
            append(fd, "third\n")
            #expect(try await reader2.value == "third\n")
        }
    }

    @Test func refusesHostileIDs() {
        #expect(throws: KumoError.self) { try ContainerLog(directory: "/tmp", id: "../etc/passwd") }
        #expect(throws: KumoError.self) { try ContainerLog(directory: "relative", id: "ok") }
    }
}
