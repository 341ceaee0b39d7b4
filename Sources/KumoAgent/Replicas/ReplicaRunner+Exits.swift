import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// Waits for the container to exit (or a stop request), then applies the restart policy. (Changed secrets
    /// reach its files from the node's secret watch, `deliverSecret`.)
    func watch(pid: Int32, since: Timestamp) async {
        while stopRequested == nil, !Task.isCancelled {
            switch context.driver.exitStatus(pid: pid) {
            case .running:
                try? await Task.sleep(for: context.exitPollInterval)
            case .exited(let code):
                await exited(code: code, since: since)
                return
            }
        }
    }

    func exited(code: Int32?, since: Timestamp) async {
        let now = Timestamp.now()
        let policy = m.withLock { $0.replica.spec.restartPolicy ?? .always }
        let (decision, restarts) = m.withLock { s -> (RestartDecision, Int) in
            let d = RestartDecision.decide(
                policy: policy, exitCode: code, ranFor: now - since, consecutiveFailures: s.consecutiveFailures,
                backoff: context.backoff)
            s.consecutiveFailures = d.consecutiveFailures
            s.exitCode = code
            s.finishedAt = now
            s.ready = false
            switch d.outcome {
            case .restart(let after):
                s.restartCount += 1
                s.state = .backingOff(
                    until: ContinuousClock.now + after, reason: "BackOff",
                    message: "exited with \(Self.describe(code)); restarting in \(after.shortDescription)")
            case .finished(let phase):
                s.state = .finished(phase, exitCode: code)
            }
            return (d, s.restartCount)
        }
        context.metrics.containerExited()
        if let id = plan.withLock({ $0?.id }) { await context.driver.removeContainer(id) }
        saveRecord()
        report()
        switch decision.outcome {
        case .restart(let after):
            logger.notice("container exited; restarting", metadata: ["exit": "\(Self.describe(code))", "restarts": "\(restarts)"])
            await context.api.event(
                project: project, replica: name, reason: "Restarting",
                message: "container exited with \(Self.describe(code)); restart \(restarts) in \(after.shortDescription) (policy \(policy.rawValue))",
                warning: code != 0)
        case .finished(let phase):
            logger.notice("container exited; not restarting", metadata: ["exit": "\(Self.describe(code))"])
            await context.api.event(
                project: project, replica: name, reason: phase == .succeeded ? "Completed" : "Failed",
                message: "container exited with \(Self.describe(code)); restart policy \(policy.rawValue)",
                warning: phase != .succeeded)
        }
    }

    static func describe(_ code: Int32?) -> String {
        guard let code else { return "an unknown status (it ended while the agent was away)" }
        if code > 128 { return "code \(code) (signal \(code - 128))" }
        return "code \(code)"
    }
}
