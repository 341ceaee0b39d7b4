import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// What a start decides before it touches the node: the image, the secrets' values and the container plan.
    struct Prepared: Sendable {
        var image: RunnableImage
        var secrets: [String: [String: [UInt8]]]
        var plan: ContainerPlan
    }

    /// Pull → network → container. A failure backs off and is retried (the image may be pushed later, the
    /// address may come back), reported with its reason.
    func start() async {
        let replica = m.withLock { $0.replica }
        let startClock = ContinuousClock.now
        do throws(StartFailure) {
            let prepared = try await Self.prepare(
                replica, uid: uid, images: context.images, subnet: context.subnet, namer: context.namer,
                secretDirectory: { [uid, driver = context.driver] in driver.secretDirectory(uid, secret: $0) },
                secret: { [secrets, project] name throws(KumoError) in try await secrets.fetch(project: project, name: name) })
            let plan = prepared.plan
            let tPrepared = ContinuousClock.now
            let pid: Int32
            do throws(KumoError) {
                for mount in plan.secretMounts {
                    try context.driver.writeSecretFiles(prepared.secrets[mount.secret] ?? [:], into: mount.hostDirectory)
                }
                self.plan.withLock { $0 = plan }
                try await context.driver.setUpNetwork(plan)
            } catch {
                throw StartFailure(reason: .failedStart, error: error)
            }
            let tNetwork = ContinuousClock.now
            do throws(KumoError) {
                pid = try await context.driver.startContainer(plan)
            } catch {
                throw StartFailure(reason: .failedStart, error: error)
            }
            let tContainer = ContinuousClock.now
            logger.debug(
                "start steps",
                metadata: [
                    "prepareMs": "\((tPrepared - startClock).milliseconds)", "networkMs": "\((tNetwork - tPrepared).milliseconds)",
                    "containerMs": "\((tContainer - tNetwork).milliseconds)", "at": "\(Timestamp.now().rfc3339)",
                ])
            let now = Timestamp.now()
            m.withLock {
                $0.state = .running(pid: pid, since: now)
                $0.startedAt = now
                $0.lastStartError = nil
                $0.ready = replica.spec.readinessProbe == nil
                $0.imageDigest = prepared.image.manifestDigest
            }
            context.metrics.containerStarted(latency: ContinuousClock.now - startClock)
            saveRecord()
            report()
            logger.info("container started", metadata: ["pid": "\(pid)", "ip": "\(plan.ip)"])
            await catchUpSecretFiles()
            await startProbes()
        } catch {
            let reason = error.reason.rawValue
            let message = error.error.message
            let (delay, first) = m.withLock { s -> (Duration, Bool) in
                let d = RestartDecision.delay(failures: s.consecutiveFailures, context.backoff)
                s.consecutiveFailures += 1
                s.state = .backingOff(until: ContinuousClock.now + d, reason: reason, message: message)
                let first = s.lastStartError != message
                s.lastStartError = message
                return (d, first)
            }
            report()
            if first {
                logger.warning("failed to start", metadata: ["reason": "\(reason)", "error": "\(message)"])
                await context.api.event(
                    project: project, replica: name, reason: reason,
                    message: "\(message) (retrying in \(delay.shortDescription))", warning: true)
            }
        }
    }

    /// Image → secrets → plan, each stage's failure with its reason: the image store's → `ImagePullFailed`; a
    /// secret the server does not give this node → `SecretNotFound` (`.notFound`, field `spec.secrets` or
    /// `spec.env`); a plan the replica's spec cannot make → `CreateContainerConfigError`. Nothing on the node
    /// changes here.
    static func prepare(
        _ replica: Replica, uid: String, images: any ImageProvider, subnet: IPv4Network, namer: SandboxNamer,
        secretDirectory: (String) -> String, secret: (String) async throws(KumoError) -> [String: [UInt8]]
    ) async throws(StartFailure) -> Prepared {
        let image: RunnableImage
        do {
            image = try await images.prepare(replica.spec.image)
        } catch {
            throw StartFailure(reason: .imagePullFailed, error: error)
        }
        let project = replica.metadata.project ?? ""
        var secrets: [String: [String: [UInt8]]] = [:]
        for name in ContainerPlanning.referencedSecrets(replica).sorted() {
            do {
                secrets[name] = try await secret(name)
            } catch where error.code == .notFound || error.code == .forbidden {
                // a node may read only the secrets its replicas use, so "not yours" and "not there" look the same
                let mounted = (replica.spec.secrets ?? []).contains { $0.name == name }
                throw StartFailure(
                    reason: .secretNotFound,
                    error: KumoError(
                        .notFound, "secret \(name) not found in project \(project)", field: mounted ? "spec.secrets" : "spec.env"))
            } catch {
                // the server could not be asked: not the replica's fault, retried with backoff
                throw StartFailure(reason: .failedStart, error: error)
            }
        }
        do {
            let plan = try ContainerPlanning.plan(
                replica, image: image, uid: uid, subnet: subnet, namer: namer, secrets: secrets,
                secretDirectory: secretDirectory)
            return Prepared(image: image, secrets: secrets, plan: plan)
        } catch {
            throw StartFailure.planning(error)
        }
    }
}
