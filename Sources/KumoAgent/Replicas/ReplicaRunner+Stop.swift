import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// Phase two of a stop (phase one — marking the replica Terminating — happened in the API): SIGTERM, grace
    /// period, SIGKILL, then container, bundle, network sandbox, log and record are removed.
    func terminate() async {
        let (request, replica, wasRunning) = m.withLock { s -> (StopRequest?, Replica, Int32?) in
            var pid: Int32? = nil
            if case .running(let p, _) = s.state { pid = p }
            s.state = .terminating
            s.ready = false
            return (s.stop, s.replica, pid)
        }
        let finalize = request?.finalize ?? false
        if finalize { report() }
        let id = uid
        if let pid = wasRunning {
            await context.beforeStop(replica)
            let grace = Duration.seconds(replica.spec.terminationGracePeriodSeconds ?? context.defaultGracePeriodSeconds)
            await context.driver.signal(id, SIGTERM)
            let deadline = ContinuousClock.now + grace
            var code: Int32?? = nil
            while ContinuousClock.now < deadline {
                if case .exited(let c) = context.driver.exitStatus(pid: pid) {
                    code = c
                    break
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            if code == nil {
                logger.notice("grace period over; killing", metadata: ["grace": "\(grace.shortDescription)"])
                await context.driver.signal(id, SIGKILL)
                let killDeadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < killDeadline {
                    if case .exited = context.driver.exitStatus(pid: pid) { break }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
        await context.driver.removeContainer(id)
        let record = ReplicaRecord.loadAll(from: context.recordsDir).first { $0.uid == uid }
        let netns = plan.withLock { $0?.netns } ?? record?.netns ?? context.namer.netns(uid)
        let veth = plan.withLock { $0?.hostVeth } ?? record?.hostVeth ?? context.namer.hostVeth(uid)
        await context.driver.tearDownNetwork(netns: netns, hostVeth: veth)
        await context.driver.removeLog(id)
        context.driver.removeSecretFiles(id)
        ReplicaRecord.remove(uid: uid, from: context.recordsDir)
        m.withLock { $0.state = .removed }
        context.reporter.forget(uid: uid)
        if finalize {
            do {
                try await context.api.finishDeletion(project: project, name: name)
            } catch {
                logger.warning("stopped, but could not delete the replica object", metadata: ["error": "\(error.message)"])
            }
        }
        logger.info("replica stopped and cleaned up", metadata: ["reason": "\(request?.reason ?? "")"])
    }
}
