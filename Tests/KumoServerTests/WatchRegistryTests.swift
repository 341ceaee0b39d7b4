import KumoModel
import Synchronization
import Testing

@testable import KumoServer

@Suite("Watch: the registry graceful shutdown ends streams with")
struct WatchRegistryTests {
    @Test("a stream registered after stopAll (a client reconnecting during shutdown) is ended at once")
    func lateStreamsEndAtOnce() {
        let registry = WatchRegistry()
        let ended = Mutex<[String]>([])
        _ = registry.add(owner: "early") { _ in ended.withLock { $0.append("early") } }
        registry.stopAll()
        #expect(ended.withLock { $0 } == ["early"])
        // before the fix this one stayed registered and the HTTP server waited for it forever
        _ = registry.add(owner: "late") { reason in ended.withLock { $0.append(reason == nil ? "late" : "late?") } }
        #expect(ended.withLock { $0 } == ["early", "late"])
        #expect(registry.count == 0)
    }

    @Test("endOpen ends the streams open now and serves later ones (a test's or an operator's disconnect, not a shutdown)")
    func endOpenKeepsServing() {
        let registry = WatchRegistry()
        let ended = Mutex<[String]>([])
        _ = registry.add(owner: "a") { _ in ended.withLock { $0.append("a") } }
        _ = registry.add(owner: "b") { _ in ended.withLock { $0.append("b") } }
        #expect(registry.endOpen() == 2)
        #expect(ended.withLock { $0.sorted() } == ["a", "b"])
        #expect(registry.count == 0)
        _ = registry.add(owner: "later") { _ in ended.withLock { $0.append("later") } }
        #expect(registry.count == 1, "a stream opened after endOpen stays open")
        #expect(ended.withLock { $0.count } == 2)
    }
}
