import Foundation
import KumoModel
import Logging
import Synchronization

/// One replica on this node, from first start to removal: pull its image, build its network sandbox, run its
/// container, watch it, restart it per policy with backoff, probe it, and stop it in two phases. Its lifecycle
/// is the `State` enum; every change of it is reported as the replica's status.
final class ReplicaRunner: Sendable {
    enum State: Sendable, Equatable {
        /// Not started yet, or being started (image, network, container).
        case starting(reason: String)
        case running(pid: Int32, since: Timestamp)
        /// Exited (or failed to start); starts again at `until`.
        case backingOff(until: ContinuousClock.Instant, reason: String, message: String)
        /// Exited and, per restart policy, stays stopped.
        case finished(ReplicaPhase, exitCode: Int32?)
        /// Being stopped: SIGTERM, grace period, SIGKILL, clean-up.
        case terminating
        /// Container, sandbox and record are gone.
        case removed
    }

    struct Mutable: Sendable {
        var replica: Replica
        var state: State = .starting(reason: "Pending")
        var restartCount = 0
        var consecutiveFailures = 0
        var exitCode: Int32?
        var startedAt: Timestamp?
        var finishedAt: Timestamp?
        var ready = false
        var readyDetail: String?
        var stop: StopRequest?
        var lastStartError: String?
        var imageDigest: String?
    }

    struct StopRequest: Sendable, Equatable {
        /// Delete the replica from the API afterwards (a graceful deletion asked for it).
        var finalize: Bool
        var reason: String
    }

    let uid: String
    let project: String
    let name: String
    let plan: Mutex<ContainerPlan?>
    let context: RunnerContext
    let logger: Logger
    private let m: Mutex<Mutable>

    init(replica: Replica, context: RunnerContext, adopted: ReplicaRecord? = nil, adoptedPid: Int32? = nil) {
        self.uid = replica.metadata.uid ?? replica.metadata.name
        self.project = replica.metadata.project ?? ""
        self.name = replica.metadata.name
        self.context = context
        var logger = context.logger
        logger[metadataKey: "replica"] = "\(project)/\(name)"
        self.logger = logger
        var state = Mutable(replica: replica)
        if let adopted {
            state.restartCount = adopted.restartCount
            state.startedAt = adopted.startedAt.flatMap(Timestamp.init(rfc3339:))
            if let pid = adoptedPid {
                state.state = .running(pid: pid, since: state.startedAt ?? Timestamp.now())
            }
        }
        self.m = Mutex(state)
        self.plan = Mutex(nil)
    }

    var state: State { m.withLock { $0.state } }
    var snapshot: Mutable { m.withLock { $0 } }

    /// A newer version of the replica object (status changes by others, labels; the spec of a replica does not
    /// change once bound).
    func update(_ replica: Replica) { m.withLock { $0.replica = replica } }

    /// Asks for the two-phase stop; the run loop carries it out.
    func requestStop(finalize: Bool, reason: String) {
        m.withLock { s in
            if s.stop == nil || (finalize && s.stop?.finalize == false) { s.stop = StopRequest(finalize: finalize, reason: reason) }
        }
    }

    var stopRequested: StopRequest? { m.withLock { $0.stop } }

    // MARK: The loop

    func run() async {
        if case .running = state {
            logger.info("adopted running container")
            report()
            await startProbes()
        }
        while stopRequested == nil, !Task.isCancelled {
            switch state {
            case .running(let pid, let since):
                await watch(pid: pid, since: since)
            case .backingOff(let until, _, _):
                if ContinuousClock.now >= until {
                    await start()
                } else {
                    try? await Task.sleep(for: min(.milliseconds(100), until - ContinuousClock.now))
                }
            case .starting:
                await start()
            case .finished:
                try? await Task.sleep(for: .milliseconds(200))
            case .terminating, .removed:
                return
            }
        }
        await terminate()
    }

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

    /// The secrets the replica refers to (env and volumes), fetched with the node token; a missing one is a
    /// clear error (the replica waits Pending, retried with backoff), never a crash loop.
    func fetchSecrets(_ replica: Replica) async throws(KumoError) -> [String: [String: [UInt8]]] {
        var out: [String: [String: [UInt8]]] = [:]
        for name in ContainerPlanning.referencedSecrets(replica).sorted() {
            do {
                out[name] = try await context.api.secret(project: project, name: name)
            } catch where error.code == .notFound || error.code == .forbidden {
                throw KumoError(.notFound, "secret \(name) not found in project \(project)", field: "spec.secrets")
            }
        }
        return out
    }

    /// Re-delivers changed secrets to the running container's files (env changes apply at the next start).
    func refreshSecretFiles() async {
        let replica = m.withLock { $0.replica }
        // an adopted container (agent restart) has no plan yet: its mounts follow from the spec
        let mounts =
            plan.withLock({ $0?.secretMounts })
            ?? (replica.spec.secrets ?? []).map {
                SecretMount(
                    secret: $0.name, hostDirectory: context.driver.secretDirectory(uid, secret: $0.name),
                    mountPath: $0.effectiveMountPath)
            }
        guard !mounts.isEmpty else { return }
        for mount in mounts {
            guard let data = try? await context.api.secret(project: project, name: mount.secret) else { continue }
            let current = (try? FileManager.default.contentsOfDirectory(atPath: mount.hostDirectory)) ?? []
            let changed = Set(current) != Set(data.keys) || data.contains { key, value in
                FileManager.default.contents(atPath: mount.hostDirectory + "/" + key).map(Array.init) != value
            }
            guard changed else { continue }
            do {
                try context.driver.writeSecretFiles(data, into: mount.hostDirectory)
                logger.info("secret files updated", metadata: ["secret": "\(mount.secret)"])
                await context.api.event(
                    project: project, replica: replica.metadata.name, reason: "SecretUpdated",
                    message: "secret \(mount.secret) changed; its files under \(mount.mountPath) were rewritten")
            } catch {
                logger.warning("could not update secret files", metadata: ["secret": "\(mount.secret)", "error": "\(error.message)"])
            }
        }
    }

    /// Waits for the container to exit (or a stop request), then applies the restart policy.
    func watch(pid: Int32, since: Timestamp) async {
        var lastSecretCheck = ContinuousClock.now
        while stopRequested == nil, !Task.isCancelled {
            if ContinuousClock.now - lastSecretCheck >= .seconds(2) {
                lastSecretCheck = ContinuousClock.now
                await refreshSecretFiles()
            }
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

    // MARK: Stop

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

    // MARK: Status

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
            phase = r == "SecretNotFound" ? .pending : .starting
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

    // MARK: Probes

    /// Readiness and liveness probes while the container runs. Readiness flips `status.ready`; a failed liveness
    /// probe kills the container, and the restart policy takes it from there.
    func startProbes() async {
        let replica = m.withLock { $0.replica }
        let probes: [(Probe, Bool)] = [replica.spec.readinessProbe.map { ($0, false) }, replica.spec.livenessProbe.map { ($0, true) }].compactMap { $0 }
        guard !probes.isEmpty, case .running(let pid, _) = state, let ip = replica.spec.network?.ip else { return }
        for (probe, liveness) in probes {
            Task {
                var failures = 0
                let period = Duration.seconds(probe.periodSeconds ?? 1)
                let threshold = probe.failureThreshold ?? 3
                try? await Task.sleep(for: .milliseconds(200))
                while !Task.isCancelled {
                    guard case .running(let current, _) = self.state, current == pid, self.stopRequested == nil else { return }
                    let (ok, detail) = await self.context.probes.check(probe, containerID: self.uid, ip: ip)
                    failures = ok ? 0 : failures + 1
                    if liveness {
                        if failures >= threshold {
                            self.logger.notice("liveness probe failed; killing", metadata: ["detail": "\(detail)"])
                            await self.context.api.event(
                                project: self.project, replica: self.name, reason: "Unhealthy",
                                message: "liveness probe failed \(failures) times: \(detail); killing the container",
                                warning: true)
                            await self.context.driver.signal(self.uid, SIGKILL)
                            return
                        }
                    } else {
                        let ready = ok || (failures < threshold && self.snapshot.ready)
                        let changed = self.m.withLock { s -> Bool in
                            let changed = s.ready != ready
                            s.ready = ready
                            s.readyDetail = ready ? nil : "readiness probe: \(detail)"
                            return changed
                        }
                        if changed { self.report() }
                    }
                    try? await Task.sleep(for: period)
                }
            }
        }
    }
}
