import KumoModel
import Logging
import Synchronization

/// Sends replica status to the API server, newest first and never stale: a status reported while an older one
/// is still in flight replaces it, and a failed send is retried (the API may be down; containers keep running).
final class StatusReporter: Sendable {
    struct Pending: Sendable {
        var project: String
        var name: String
        var status: JSONValue
    }

    let api: AgentAPI
    let logger: Logger
    private let pending = Mutex<[String: Pending]>([:])
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    private let counters = Mutex<(sent: Int, failed: Int)>((0, 0))

    init(api: AgentAPI, logger: Logger) {
        self.api = api
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func report(uid: String, project: String, name: String, status: JSONValue) {
        // every report is the replica's whole status (cleared fields as null), so the newest simply wins
        pending.withLock { $0[uid] = Pending(project: project, name: name, status: status) }
        wake.yield()
    }

    func run() async {
        for await _ in wakes {
            while true {
                let batch = pending.withLock { p -> [(String, Pending)] in
                    let all = Array(p)
                    p.removeAll()
                    return all
                }
                if batch.isEmpty { break }
                let failedAny = await withTaskGroup(of: Bool.self) { group in
                    for (uid, item) in batch {
                        group.addTask {
                            do throws(KumoError) {
                                try await self.api.patchReplicaStatus(project: item.project, name: item.name, item.status)
                                self.counters.withLock { $0.sent += 1 }
                            } catch where error.code == .notFound || error.code == .forbidden {
                                // gone, or no longer bound here: nothing to report to
                            } catch {
                                self.counters.withLock { $0.failed += 1 }
                                self.logger.debug("status report failed; retrying", metadata: ["replica": "\(item.project)/\(item.name)", "error": "\(error.message)"])
                                self.requeue(uid, item)
                                return true
                            }
                            return false
                        }
                    }
                    return await group.contains(true)
                }
                if failedAny {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Puts a failed report back unless a newer one arrived meanwhile.
    private func requeue(_ uid: String, _ item: Pending) {
        pending.withLock { p in
            if p[uid] == nil { p[uid] = item }
        }
    }

    /// Drops what is queued for a replica that is gone.
    func forget(uid: String) { _ = pending.withLock { $0.removeValue(forKey: uid) } }

    func finish() { wake.finish() }

    func state() -> JSONValue {
        let c = counters.withLock { $0 }
        return ["sent": .number(Double(c.sent)), "failed": .number(Double(c.failed)), "queued": .number(Double(pending.withLock { $0.count }))]
    }
}
