import Foundation
import KumoModel
import Logging

/// Runs one VM bound to this node: provisions it step by step (image, DHCP entry, tap, QEMU, lease, reachable),
/// keeps it in the desired power state (`spec.running`), reboots it on request, and removes everything it made
/// when the instance is deleted. Every step is recorded with its component and start/end time in the status
/// (`kumo describe instance/x` prints them); a failed step names its error, and a guest that never takes its
/// DHCP lease fails with the console's last lines. After an agent restart a runner adopts the running QEMU.
actor InstanceRunner {
    enum State: Sendable, Equatable {
        case pending
        case provisioning
        case booting(pid: Int32)
        case running(pid: Int32)
        case stopping(pid: Int32)
        case stopped
        case failed(String)
        case removed
    }

    static let boundAtAnnotation = "kumo.dev/bound-at"  // SchedulingController.boundAtAnnotation
    static let bootTimeoutAnnotation = "kumo.dev/boot-timeout-seconds"

    let uid: String
    let project: String
    let name: String
    let context: VMContext
    let paths: VMPaths
    let tap: String
    private(set) var instance: Instance
    var state: State = .pending
    var steps: [InstanceStep] = []
    var accel: String?
    /// The user its QEMU runs as (`QEMUConfinement`), nil when unconfined.
    var qemuUser: UInt32?
    var startedAt: String?
    var reason: String?
    var message: String?
    var consoleTail: String?
    var rebootHandled: String?
    /// The start request (annotation value) current when the instance failed; a new one retries it.
    var startRequestAtFailure: String?
    /// The DHCP reservation as written (to notice an address change).
    var dhcpEntry: DHCPHost?
    /// Bumped on every instance update; `pause` returns early when it moves.
    private var generation = 0

    init(instance: Instance, uid: String, context: VMContext) {
        self.instance = instance
        self.uid = uid
        self.project = instance.metadata.project ?? ""
        self.name = instance.metadata.name
        self.context = context
        self.paths = VMPaths(root: context.vmsDir, uid: uid)
        self.tap = VMDriver.tapName(uid: uid)
        rebootHandled = instance.status?.rebootHandled ?? instance.metadata.annotations?[InstanceSpec.rebootAnnotation]
    }

    nonisolated func update(_ instance: Instance) {
        Task { await self.set(instance) }
    }

    private func set(_ instance: Instance) {
        // updates arrive on separate tasks: never go back to an older version of the object
        if let new = instance.metadata.resourceVersion.flatMap({ Int64($0) }),
            let current = self.instance.metadata.resourceVersion.flatMap({ Int64($0) }), new < current
        {
            return
        }
        self.instance = instance
        generation += 1
    }

    /// The object is gone (a forced delete skips the graceful phase): remove the VM all the same.
    var deleted = false

    nonisolated func objectDeleted() {
        Task { await self.markDeleted() }
    }

    private func markDeleted() {
        deleted = true
        generation += 1
    }

    var wantsRunning: Bool { instance.spec.running ?? true }
    var deleting: Bool { deleted || instance.metadata.deletionTimestamp != nil }
    var mac: String? { instance.spec.network?.mac }
    var ip: String? { instance.spec.network?.ip }
    var consolePath: String { paths.consoleLog }

    /// Until the instance is removed, or the task is cancelled (agent shutdown: the VM keeps running).
    func run() async {
        adoptIfRunning()
        while !Task.isCancelled {
            if deleting {
                await remove()
                return
            }
            switch state {
            case .pending, .stopped:
                if wantsRunning { await provisionAndBoot() }
            case .failed:
                if wantsRunning, instance.metadata.annotations?[InstanceSpec.startAnnotation] != startRequestAtFailure {
                    await provisionAndBoot()
                } else if !wantsRunning {
                    state = .stopped
                    reason = "Stopped"
                    await report(phase: .stopped)
                }
            case .booting, .running:
                await superviseRunning()
            case .provisioning, .stopping, .removed:
                break
            }
            if state == .removed { return }
            await pause(.seconds(1))
        }
    }

    /// Waits for a change of the instance or `limit`, whichever comes first.
    func pause(_ limit: Duration) async {
        let seen = generation
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, generation == seen, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: - adoption

    func adoptIfRunning() {
        guard let record = InstanceRecord.load(paths.record), let pid = VMDriver.runningPid(pidFile: paths.pidFile) else { return }
        state = .running(pid: pid)
        steps = instance.status?.steps ?? []
        accel = record.accel
        qemuUser = record.qemuUser
        startedAt = instance.status?.startedAt
        if let mac = try? DHCPHost(mac: record.mac, name: name, ip: IPv4Address(record.ip) ?? IPv4Address(0)) { dhcpEntry = mac }
        context.logger.info("adopted running VM", metadata: ["instance": "\(project)/\(name)", "pid": "\(pid)"])
        Task { [dhcpEntry, context] in
            if let dhcpEntry { try? await context.dnsmasq.setHost(dhcpEntry) }
        }
    }

    // MARK: - state dump

    func snapshot() -> JSONValue {
        var s: [String: JSONValue] = [
            "instance": .string("\(project)/\(name)"), "uid": .string(uid), "state": .string(Self.describe(state)),
            "tap": .string(tap), "directory": .string(paths.directory),
        ]
        if let accel { s["accel"] = .string(accel) }
        if let qemuUser { s["qemuUser"] = .number(Double(qemuUser)) }
        if let ip { s["ip"] = .string(ip) }
        if let mac { s["mac"] = .string(mac) }
        return .object(s)
    }

    static func describe(_ state: State) -> String {
        switch state {
        case .pending: "pending"
        case .provisioning: "provisioning"
        case .booting(let pid): "booting(pid \(pid))"
        case .running(let pid): "running(pid \(pid))"
        case .stopping(let pid): "stopping(pid \(pid))"
        case .stopped: "stopped"
        case .failed(let why): "failed(\(why))"
        case .removed: "removed"
        }
    }

    var phase: InstancePhase {
        switch state {
        case .pending: .scheduled
        case .provisioning: .provisioning
        case .booting: .booting
        case .running: .running
        case .stopping: .stopping
        case .stopped: .stopped
        case .failed: .failed
        case .removed: .terminating
        }
    }
}
