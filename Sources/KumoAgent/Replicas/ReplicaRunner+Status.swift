import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    func saveRecord() {
        let (s, plan) = (snapshot, self.plan.withLock { $0 })
        var pid: Int32? = nil
        if case .running(let p, _) = s.state { pid = p }
        let record = ReplicaRecord(
            uid: uid, project: project, name: name, containerID: uid, netns: plan?.netns ?? context.namer.netns(uid),
            hostVeth: plan?.hostVeth ?? context.namer.hostVeth(uid), ip: plan.map { "\($0.ip)" },
            restartCount: s.restartCount, startedAt: s.startedAt?.rfc3339, pid: pid)
        do { try record.save(in: context.recordsDir) } catch {
            logger.warning("could not save replica record", metadata: ["error": "\(error.message)"])
        }
    }

    /// The replica's whole status as this agent sees it (cleared fields as null so a merge patch removes them).
    func status() -> JSONValue {
        let s = snapshot
        var phase: ReplicaPhase
        var reason: String? = nil
        var message: String? = nil
        switch s.state {
        case .starting(let r):
            phase = .starting
            reason = r
        case .running:
            phase = .running
        case .backingOff(_, let r, let msg):
            phase = r == StartFailure.Reason.secretNotFound.rawValue ? .pending : .starting
            reason = r
            message = msg
        case .finished(let p, _):
            phase = p
        case .terminating, .removed:
            phase = .terminating
            reason = "Stopping"
        }
        if s.ready == false, case .running = s.state, let detail = s.readyDetail {
            reason = "NotReady"
            message = detail
        }
        let ip = s.replica.spec.network?.ip
        func opt(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        return [
            "phase": .string(phase.rawValue), "ready": .bool(s.ready && phase == .running),
            "reason": opt(reason), "message": opt(message),
            "restartCount": .number(Double(s.restartCount)),
            "exitCode": s.exitCode.map { .number(Double($0)) } ?? .null,
            "startedAt": opt(s.startedAt?.rfc3339), "finishedAt": opt(s.finishedAt?.rfc3339),
            "ip": opt(ip), "containerID": .string(uid), "imageDigest": opt(s.imageDigest),
        ]
    }

    func report() {
        context.reporter.report(uid: uid, project: project, name: name, status: status())
    }
}
