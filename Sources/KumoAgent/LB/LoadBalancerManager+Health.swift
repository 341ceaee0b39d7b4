import Foundation
import KumoDoctor
import KumoModel
import KumoSystem

/// What the node health report needs of the load balancer: HAProxy's liveness by an answer (`show info` over
/// the Runtime API within a deadline), its last failed load, the external ports another program holds, and per
/// service how many of its servers HAProxy counts up (from the `show stat` the manager samples every second).
extension LoadBalancerManager {
    func haproxyHealth(deadline: Duration = .seconds(1)) async -> DaemonHealth {
        let supervisor = self.supervisor
        let state = await supervisor.state
        let restarts = await supervisor.restarts
        let supervisorError = await supervisor.lastError
        let (managerError, withheld) = self.state.withLock { ($0.lastError, $0.withheld) }
        var pid: Int32?
        if case .running(let p) = state { pid = p }
        let stat = pid.flatMap { ProcessStat.read($0) }
        let running = stat.map { !$0.exited } ?? false
        var health = DaemonHealth(running: running, pid: pid.map(Int.init), answering: false)
        health.restarts = restarts
        // a failed load (config rejected, reload failed, listeners missing), or the manager's sync error; not the
        // "ports withheld" note, which portsHeld says
        health.lastReloadError = supervisorError ?? (managerError == Self.withheldMessage(withheld) ? nil : managerError)
        if !withheld.isEmpty {
            health.portsHeld = Dictionary(uniqueKeysWithValues: withheld.values.map { (String($0.port), $0.reason) })
        }
        switch state {
        case .stopped:
            health.error = "HAProxy is not started (no configuration loaded yet)"
            return health
        case .failed(let why):
            if !running {
                health.error = why
                return health
            }
        case .running:
            if !running {
                health.error = "HAProxy (pid \(pid ?? 0)) is gone"
                return health
            }
        }
        let runtime = await supervisor.runtime()
        let answer: Result<String, KumoError>? = await Deadline.run(deadline + .milliseconds(250)) {
            do throws(KumoError) {
                return .success(try await runtime.send("show info", timeout: deadline))
            } catch {
                return .failure(error)
            }
        }
        switch answer {
        case .success(let text)? where text.contains("Pid:") || text.contains("Name:"):
            health.answering = true
        case .success?:
            health.error = "no answer to `show info` on \(supervisor.adminSocket) within \(deadline.shortDescription)"
                + (stat?.state == "T" ? " (the process is stopped: state T)" : "")
        case .failure(let error)?:
            health.error = error.message + (stat?.state == "T" ? " (the process is stopped: state T)" : "")
        case nil:
            health.error = "no answer to `show info` within \(deadline.shortDescription)"
                + (stat?.state == "T" ? " (the process is stopped: state T)" : "")
        }
        return health
    }

    /// Per applied service, `project/service`: servers (by name, across its ports) HAProxy counts up in every
    /// port's backend, of all; a down server's `check_status` and `last_chk`.
    func backendHealth() -> [BackendHealth] {
        let (applied, stats) = state.withLock { ($0.applied, $0.stats) }
        return applied.values.sorted { $0.key < $1.key }.map { lb in
            var all = Set<String>()
            var down = Set<String>()
            var checkStatus: String?
            var queued = 0
            for port in lb.ports {
                let proxy = lb.proxyName(port)
                queued += stats.backend(proxy)?.int("qcur") ?? 0
                for s in stats.servers(proxy) {
                    all.insert(s.server)
                    let status = s.string("status")
                    if !(status.hasPrefix("UP") || status == "no check" || status.hasPrefix("DRAIN")) {
                        down.insert(s.server)
                        if checkStatus == nil {
                            let detail = [s.string("check_status"), s.string("last_chk")].filter { !$0.isEmpty }.joined(separator: " ")
                            checkStatus = "\(s.server): \(status)" + (detail.isEmpty ? "" : " \(detail)")
                        }
                    }
                }
            }
            var b = BackendHealth(service: lb.key, serversUp: all.count - down.count, serversTotal: all.count, checkStatus: checkStatus)
            b.queued = queued
            return b
        }
    }
}
