import Foundation
import KumoAPI
import KumoModel

/// Each node's load-balancer acknowledgements (its lease's `loadBalancer`: the revision of services its HAProxy
/// serves, and when the server got it), polled every 50 ms and kept as they change. A poll sees at most the latest
/// acknowledgement, so `firstServing` is an upper bound of the real moment.
final class AckRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var acks: [String: [(revision: Int64, at: Timestamp)]] = [:]
    private var task: Task<Void, Never>?

    init(_ client: KumoClient, nodes: [String]) {
        task = Task { [weak self] in
            while !Task.isCancelled {
                for node in nodes {
                    guard let lease = try? await client.send(.GET, "/api/v1/nodes/\(APIPaths.encode(node))/lease").json(),
                        let revision = lease["loadBalancer"]?["appliedRevision"]?.intValue,
                        let at = lease["loadBalancer"]?["appliedAt"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) })
                    else { continue }
                    self?.add(node, Int64(revision), at)
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func add(_ node: String, _ revision: Int64, _ at: Timestamp) {
        lock.lock()
        defer { lock.unlock() }
        if acks[node]?.last?.revision != revision { acks[node, default: []].append((revision, at)) }
    }

    /// When `node` first acknowledged serving `revision` or a later one (nil: not seen).
    func firstServing(_ node: String, atLeast revision: Int64) -> Timestamp? {
        lock.lock()
        defer { lock.unlock() }
        return acks[node]?.first { $0.revision >= revision }?.at
    }

    func stop() { task?.cancel() }
}
