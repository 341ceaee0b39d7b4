import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// Pull → network → container. A failure backs off and is retried (the image may be pushed later, the
    /// address may come back), reported with its reason.
    func start() async {
        let replica = m.withLock { $0.replica }
        let startClock = ContinuousClock.now
        do {
            let prepared = try await context.images.prepare(replica.spec.image)
            let tImage = ContinuousClock.now
            let secrets = try await fetchSecrets(replica)
            let plan = try ContainerPlanning.plan(
                replica, image: prepared, uid: uid, subnet: context.subnet, namer: context.namer, secrets: secrets,
                secretDirectory: { [uid, driver = context.driver] in driver.secretDirectory(uid, secret: $0) })
            for mount in plan.secretMounts {
                try context.driver.writeSecretFiles(secrets[mount.secret] ?? [:], into: mount.hostDirectory)
            }
            self.plan.withLock { $0 = plan }
            try await context.driver.setUpNetwork(plan)
            let tNetwork = ContinuousClock.now
            let pid = try await context.driver.startContainer(plan)
            let tContainer = ContinuousClock.now
            logger.debug(
                "start steps",
                metadata: [
                    "imageMs": "\((tImage - startClock).milliseconds)", "networkMs": "\((tNetwork - tImage).milliseconds)",
                    "containerMs": "\((tContainer - tNetwork).milliseconds)", "at": "\(Timestamp.now().rfc3339)",
                ])
            let now = Timestamp.now()
            m.withLock {
                $0.state = .running(pid: pid, since: now)
                $0.startedAt = now
                $0.lastStartError = nil
                $0.ready = replica.spec.readinessProbe == nil
                $0.imageDigest = prepared.manifestDigest
            }
            context.metrics.containerStarted(latency: ContinuousClock.now - startClock)
            saveRecord()
            report()
            logger.info("container started", metadata: ["pid": "\(pid)", "ip": "\(plan.ip)"])
            await startProbes()
        } catch {
            let reason = Self.reason(for: error)
            let (delay, first) = m.withLock { s -> (Duration, Bool) in
                let d = RestartDecision.delay(failures: s.consecutiveFailures, context.backoff)
                s.consecutiveFailures += 1
                s.state = .backingOff(until: ContinuousClock.now + d, reason: reason, message: error.message)
                let first = s.lastStartError != error.message
                s.lastStartError = error.message
                return (d, first)
            }
            report()
            if first {
                logger.warning("failed to start", metadata: ["error": "\(error.message)"])
                await context.api.event(
                    project: project, replica: name, reason: reason,
                    message: "\(error.message) (retrying in \(delay.shortDescription))", warning: true)
            }
        }
    }

    static func reason(for error: KumoError) -> String {
        if error.message.hasPrefix("secret ") { return "SecretNotFound" }
        if error.message.contains("image") { return "ImagePullFailed" }
        if error.code == .invalid { return "CreateContainerConfigError" }
        return "FailedStart"
    }
}
