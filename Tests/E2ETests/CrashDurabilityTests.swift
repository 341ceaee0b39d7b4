import Foundation
import KumoAPI
import KumoModel
import KumoTestbed
import Synchronization
import Testing

@Suite("E2E: durability of acknowledged writes", .serialized)
struct CrashDurabilityTests {
    @Test("kill -9 during a stream of writes loses no acknowledged write")
    func killNineKeepsAcknowledgedWrites() async throws {
        let dir = tempDir("crash")
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: dir + ".log")
        }
        let first = try ServerProcess(dataDir: dir)
        do {
            try await first.waitReady()
        } catch {
            first.kill9()
            throw error
        }
        let api = first.admin
        _ = try await api.send(.POST, "/api/v1/projects", body: Array(#"{"metadata":{"name":"p"},"spec":{}}"#.utf8))

        // Each writer creates objects and bumps its own counter object; it records what the server acknowledged.
        let acknowledged = Acknowledged()  // object name → last acknowledged counter (creates: 0)
        let writers = 8
        let stop = Acknowledged.Flag()
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    let counter = "counter-\(w)"
                    let body = #"{"metadata":{"name":"\#(counter)"},"spec":{"data":{"n":"MA=="}}}"#
                    guard (try? await api.send(.POST, "/api/v1/projects/p/secrets", body: Array(body.utf8))) != nil else { return }
                    acknowledged.set(counter, 0)
                    var i = 0
                    while !stop.isSet {
                        i += 1
                        let name = "w\(w)-\(i)"
                        let obj = #"{"metadata":{"name":"\#(name)","labels":{"i":"\#(i)"}},"spec":{}}"#
                        do {
                            _ = try await api.send(.POST, "/api/v1/nodes", body: Array(obj.utf8))
                            acknowledged.set(name, 0)
                            let patch = #"{"metadata":{"labels":{"n":"\#(i)"}}}"#
                            _ = try await api.send(
                                .PATCH, "/api/v1/projects/p/secrets/\(counter)", body: Array(patch.utf8),
                                contentType: mergePatchContentType)
                            acknowledged.set(counter, i)
                        } catch {
                            return  // the server is gone
                        }
                    }
                }
            }
            group.addTask {
                // kill mid-stream once enough writes were acknowledged (a slow, busy machine needs longer)
                try? await Task.sleep(for: .milliseconds(1500))
                let deadline = ContinuousClock.now + .seconds(20)
                while acknowledged.all.count <= 60 && ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                first.kill9()
                stop.set()
            }
        }
        let acked = acknowledged.all
        #expect(acked.count > 50, "enough writes happened before the kill (\(acked.count))")

        let second = try ServerProcess(dataDir: dir)
        defer { _ = second.terminate() }
        try await second.waitReady()
        let nodes = try await second.admin.send(.GET, "/api/v1/nodes").json()
        let names = Set(nodes["items"]?.arrayValue?.compactMap { $0["metadata"]?["name"]?.stringValue } ?? [])
        var missing: [String] = []
        for (name, value) in acked {
            if name.hasPrefix("counter-") {
                let s = try await second.admin.send(.GET, "/api/v1/projects/p/secrets/\(name)").json()
                let n = Int(s["metadata"]?["labels"]?["n"]?.stringValue ?? "0") ?? 0
                if n < value { missing.append("\(name): \(n) < acknowledged \(value)") }
            } else if !names.contains(name) {
                missing.append(name)
            }
        }
        #expect(missing.isEmpty, "acknowledged writes lost after kill -9: \(missing.prefix(10))")
        #expect(second.terminate() == 0, "SIGTERM shuts down cleanly")
    }
}

/// What the server acknowledged, shared by the writer tasks.
final class Acknowledged: Sendable {
    private let values = Mutex<[String: Int]>([:])
    func set(_ key: String, _ value: Int) { values.withLock { $0[key] = value } }
    var all: [String: Int] { values.withLock { $0 } }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }
}
