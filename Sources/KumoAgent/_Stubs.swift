// TEMPORARY: replaced by the runtime and image helpers' code at merge.
import KumoAPI
import KumoModel
import KumoSystem
import Logging

final class RuncSandboxDriver: SandboxDriver {
    init(config: AgentConfiguration, logger: Logger) throws(KumoError) {}
    func prepareNode(subnet: IPv4Network) async throws(KumoError) {}
    func setUpNetwork(_ plan: ContainerPlan) async throws(KumoError) {}
    func startContainer(_ plan: ContainerPlan) async throws(KumoError) -> Int32 { 0 }
    func exitStatus(pid: Int32) -> ExitObservation { .running }
    func signal(_ id: String, _ signal: Int32) async {}
    func removeContainer(_ id: String) async {}
    func tearDownNetwork(netns: String, hostVeth: String) async {}
    func runningContainers() async -> [String: Int32] { [:] }
    func allContainers() async -> [String] { [] }
    func exec(_ id: String, _ argv: [String], timeout: Duration) async -> Int32 { 0 }
    func logPath(_ id: String) -> String { "" }
    func rotateLog(_ id: String) async {}
    func removeLog(_ id: String) async {}
    func removeNode() async {}
}
actor ImageStore {
    init(directory: String, source: any Sendable, command: Command, logger: Logger) {}
    func collectGarbage(inUse: Set<String>, olderThan: Duration) {}
    nonisolated func counters() -> (Int, Int, Int) { (0, 0, 0) }
    func state() -> JSONValue { .null }
}
struct APIImageSource: Sendable { let client: KumoClient }
struct StoreImageProvider: ImageProvider {
    let store: ImageStore
    func prepare(_ reference: String) async throws(KumoError) -> RunnableImage { throw KumoError(.internal, "stub") }
}
