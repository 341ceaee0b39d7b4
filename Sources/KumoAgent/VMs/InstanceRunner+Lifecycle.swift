import Foundation
import KumoModel
import Logging

extension InstanceRunner {
    /// A failed step: its error, owned by `component`.
    struct StepFailure: Error {
        var step: String
        var component: String
        var message: String
    }

    // MARK: - steps

    func now() -> String { Timestamp.now().rfc3339 }

    /// Runs `body` as step `name` of `component`: recorded running, then done (with its message) or failed.
    func step<T>(_ name: String, _ component: String, _ body: () async throws(KumoError) -> (T, String?)) async throws(StepFailure) -> T {
        steps.removeAll { $0.name == name }
        steps.append(InstanceStep(name: name, state: "running", startedAt: now(), component: component))
        await report(phase: phase)
        do {
            let (value, note) = try await body()
            finishStep(name, state: "done", message: note)
            return value
        } catch {
            finishStep(name, state: "failed", message: error.message)
            throw StepFailure(step: name, component: component, message: error.message)
        }
    }

    func finishStep(_ name: String, state: String, message: String?) {
        guard let i = steps.lastIndex(where: { $0.name == name }) else { return }
        steps[i].state = state
        steps[i].finishedAt = now()
        steps[i].message = message
    }

    /// The control plane's steps, from the object: created → bound (scheduler), address + MAC (ipam), picked
    /// up here (agent).
    func controlPlaneSteps() -> [InstanceStep] {
        let created = instance.metadata.createdAt
        let boundAt = instance.metadata.annotations?[Self.boundAtAnnotation]
        var out = [
            InstanceStep(
                name: "scheduled", state: "done", startedAt: created, finishedAt: boundAt, message: "node \(context.node)",
                component: "scheduler"),
            InstanceStep(
                name: "port", state: "done", startedAt: boundAt, finishedAt: boundAt,
                message: "ip \(ip ?? "?"), mac \(mac ?? "?") (allocated at bind)", component: "ipam"),
        ]
        out.append(
            InstanceStep(
                name: "bound", state: "done", startedAt: boundAt ?? created, finishedAt: now(),
                message: "picked up by the agent of node \(context.node)", component: "agent"))
        return out
    }

    // MARK: - create / start

    func provisionAndBoot() async {
        state = .provisioning
        reason = nil
        message = nil
        consoleTail = nil
        steps = controlPlaneSteps()
        do throws(StepFailure) {
            guard let ipText = ip, let mac, let address = IPv4Address(ipText) else {
                throw StepFailure(step: "port", component: "ipam", message: "the instance has no address yet (spec.network)")
            }
            let image = try await step("image", "agent/images") { () throws(KumoError) -> (VMImage, String?) in
                let image = try await context.images.prepare(instance.spec.image)
                return (image, "\(image.config.kind.rawValue) image \(image.digest.prefix(19))… \(image.cached ? "cached" : "fetched and verified")")
            }
            do {
                try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
            } catch {
                throw StepFailure(step: "image", component: "agent", message: "failed to create \(paths.directory): \(error)")
            }
            let boot: QEMUCommandLine.Boot
            switch image.config.kind {
            case .kernel:
                guard let kernel = image.kernel, let initrd = image.initrd else {
                    throw StepFailure(step: "image", component: "agent/images", message: "kernel image without kernel/initrd")
                }
                let cmdline = QEMUCommandLine.cmdline(
                    image: image.config.cmdline ?? "console=ttyS0", hostname: name, userData: instance.spec.userData,
                    sshKeys: instance.spec.sshAuthorizedKeys)
                guard cmdline.utf8.count <= QEMUCommandLine.maxCmdlineBytes else {
                    throw StepFailure(
                        step: "image", component: "agent/qemu",
                        message: "user data and SSH keys do not fit on the kernel command line (\(cmdline.utf8.count) bytes, "
                            + "at most \(QEMUCommandLine.maxCmdlineBytes)); a config drive is not implemented")
                }
                boot = .kernel(kernel: kernel, initrd: initrd, cmdline: cmdline)
            case .disk:
                let overlay = paths.overlay
                try await step("disk", "agent/qemu-img") { () throws(KumoError) -> (Void, String?) in
                    if FileManager.default.fileExists(atPath: overlay) { return ((), "kept the overlay from before") }
                    try await context.driver.createOverlay(
                        base: image.disk ?? "", format: image.diskFormat ?? "raw", path: overlay, sizeBytes: instance.spec.diskSize?.bytes)
                    return ((), "qcow2 overlay on \(image.digest.prefix(19))…")
                }
                boot = .disk(overlay: overlay)
            }
            let entry = try await step("dhcp-entry", "agent/dnsmasq") { () throws(KumoError) -> (DHCPHost, String?) in
                let host = try DHCPHost(mac: mac, name: name, ip: address)
                try await context.dnsmasq.setHost(host)
                return (host, "\(host.line) in the hostsfile, SIGHUP")
            }
            dhcpEntry = entry
            try await step("tap", "agent/network") { () throws(KumoError) -> (Void, String?) in
                try await context.driver.createTap(tap)
                return ((), "\(tap) on the node bridge")
            }
            let chosen = await context.accel.current()
            accel = chosen.rawValue
            let qemuStart = Date()
            let memoryMiB = max(16, (instance.spec.memory?.bytes ?? InstanceSpec.defaultMemoryBytes) >> 20)
            let confinement = context.confinement(for: uid)
            let line = QEMUCommandLine(
                name: "\(project)-\(name)", vcpus: instance.spec.vcpus ?? InstanceSpec.defaultVCPUs, memoryMiB: memoryMiB,
                accel: chosen, boot: boot, tap: tap, mac: mac, qmpSocket: paths.qmpSocket, consoleLog: paths.consoleLog,
                pidFile: paths.pidFile, confinement: confinement)
            let pid = try await step("qemu", "agent/qemu") { () throws(KumoError) -> (Int32, String?) in
                let pid = try await context.driver.start(line)
                let confined = confinement.map { ", user \($0.uid), seccomp, root \($0.root ?? "/")" } ?? ", unconfined (agent not root)"
                return (pid, "pid \(pid), accel \(chosen.rawValue)\(confined)")
            }
            qemuUser = confinement?.uid
            InstanceRecord(
                uid: uid, project: project, name: name, tap: tap, mac: mac, ip: ipText, accel: chosen.rawValue, qemuUser: confinement?.uid
            ).save(paths.record)
            state = .booting(pid: pid)
            try await waitForLease(mac: mac, address: address, since: qemuStart, pid: pid)
            guard case .booting = state else { return }  // stopped or deleted meanwhile
            startedAt = now()
            state = .running(pid: pid)
            await report(phase: .running)
            _ = try? await step("reachable", "agent/network") { () throws(KumoError) -> (Void, String?) in
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline {
                    if await context.driver.ping(ipText) { return ((), "answers ping from the node") }
                    try? await Task.sleep(for: .milliseconds(200))
                }
                throw KumoError(.unavailable, "\(ipText) does not answer ping from the node within 10 s")
            }
            await report(phase: .running)
            await context.api.instanceEvent(
                project: project, instance: name, reason: "Started", message: "VM running on \(context.node) at \(ipText) (\(chosen.rawValue))")
        } catch {
            await fail(error)
        }
    }

    /// Waits for dnsmasq's DHCPACK of the instance's address, no longer than the boot timeout; returns early when
    /// the VM was stopped or deleted meanwhile, and fails when QEMU exits.
    func waitForLease(mac: String, address: IPv4Address, since: Date, pid: Int32) async throws(StepFailure) {
        let timeout = instance.metadata.annotations?[Self.bootTimeoutAnnotation].flatMap(Int.init).map { Duration.seconds($0) }
            ?? context.bootTimeout
        try await step("lease", "agent/dnsmasq") { () throws(KumoError) -> (Void, String?) in
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if deleting || !wantsRunning { return ((), "not waited for: the instance is being stopped") }
                if let lease = await context.dnsmasq.waitForLease(mac: mac, ip: address, after: since, timeout: .milliseconds(500)) {
                    let ms = Int((lease.observedAt.timeIntervalSince(since) * 1000).rounded())
                    return ((), "DHCPACK \(address) to \(mac) seen in the dnsmasq log, \(ms) ms after QEMU started")
                }
                if !VMDriver.isQEMU(pid: pid, pidFile: paths.pidFile) {
                    throw KumoError(.internal, "QEMU exited before the guest took its DHCP lease")
                }
            }
            throw KumoError(
                .unavailable,
                "no DHCP lease within \(timeout.components.seconds) s: the guest did not boot or did not bring its network up")
        }
    }

    /// A failed create: the step's error in the status with the console's last lines; QEMU, tap and DHCP entry
    /// removed (nothing left behind but the console log, for `kumo console`).
    func fail(_ failure: StepFailure) async {
        consoleTail = Self.tail(of: paths.consoleLog, lines: 15)
        reason = "StepFailed"
        message = "step \(failure.step) (\(failure.component)) failed: \(failure.message)"
        await releaseResources(keepDHCP: false)
        startRequestAtFailure = instance.metadata.annotations?[InstanceSpec.startAnnotation]
        state = .failed(failure.message)
        await report(phase: .failed)
        await context.api.instanceEvent(project: project, instance: name, reason: "Failed", message: message ?? "", warning: true)
        context.logger.warning("instance failed", metadata: ["instance": "\(project)/\(name)", "step": "\(failure.step)", "error": "\(failure.message)"])
    }

    // MARK: - running

    func superviseRunning() async {
        let pid: Int32
        switch state {
        case .booting(let p), .running(let p): pid = p
        default: return
        }
        if !VMDriver.isQEMU(pid: pid, pidFile: paths.pidFile) {
            await releaseResources(keepDHCP: true)
            state = .stopped
            reason = "GuestPoweredOff"
            message = "QEMU exited (the guest powered off or crashed)"
            await report(phase: .stopped)
            return
        }
        if !wantsRunning {
            await stop(pid: pid)
            return
        }
        if let requested = instance.metadata.annotations?[InstanceSpec.rebootAnnotation], requested != rebootHandled {
            rebootHandled = requested
            do {
                _ = try await context.driver.qmp(paths.qmpSocket, "system_reset")
                await context.api.instanceEvent(project: project, instance: name, reason: "Rebooted", message: "QMP system_reset")
            } catch {
                await context.api.instanceEvent(
                    project: project, instance: name, reason: "RebootFailed", message: error.message, warning: true)
            }
            await report(phase: phase)
        }
        // an address change (forced by an admin): the new reservation; the guest's next renewal is NAKed
        if let ipText = ip, let mac, let address = IPv4Address(ipText), dhcpEntry?.ip != address,
            let host = try? DHCPHost(mac: mac, name: name, ip: address)
        {
            do {
                try await context.dnsmasq.setHost(host)
                dhcpEntry = host
                await context.api.instanceEvent(
                    project: project, instance: name, reason: "AddressChanged", message: "DHCP reservation now \(host.line)")
            } catch {
                context.logger.warning("failed to update the DHCP entry", metadata: ["error": "\(error.message)"])
            }
        }
    }

    /// ACPI power button (QMP system_powerdown), then SIGTERM/SIGKILL after the stop timeout.
    func stop(pid: Int32) async {
        state = .stopping(pid: pid)
        await report(phase: .stopping)
        var how = "powered off by the guest (QMP system_powerdown)"
        do {
            _ = try await context.driver.qmp(paths.qmpSocket, "system_powerdown")
        } catch {
            how = "killed (QMP failed: \(error.message))"
        }
        let deadline = ContinuousClock.now + context.stopTimeout
        while ContinuousClock.now < deadline, VMDriver.isQEMU(pid: pid, pidFile: paths.pidFile) {
            try? await Task.sleep(for: .milliseconds(100))
        }
        if VMDriver.isQEMU(pid: pid, pidFile: paths.pidFile) {
            how = "killed after \(context.stopTimeout.components.seconds) s without powering off"
            await context.driver.kill(pid: pid, pidFile: paths.pidFile)
        }
        await releaseResources(keepDHCP: true)
        state = .stopped
        reason = "Stopped"
        message = how
        await report(phase: .stopped)
        await context.api.instanceEvent(project: project, instance: name, reason: "Stopped", message: how)
    }

    /// Deletion: QEMU, tap, DHCP entry, overlay and files gone, then the object.
    func remove() async {
        switch state {
        case .booting(let pid), .running(let pid), .stopping(let pid):
            await context.driver.kill(pid: pid, pidFile: paths.pidFile, grace: .seconds(1))
        default:
            if let pid = VMDriver.runningPid(pidFile: paths.pidFile) { await context.driver.kill(pid: pid, pidFile: paths.pidFile) }
        }
        await releaseResources(keepDHCP: false)
        try? FileManager.default.removeItem(atPath: paths.directory)
        QEMUUsers.shared.release(uid)
        state = .removed
        do {
            try await context.api.finishInstanceDeletion(project: project, name: name)
        } catch {
            context.logger.warning("failed to finish the deletion", metadata: ["instance": "\(project)/\(name)", "error": "\(error.message)"])
        }
    }

    /// QEMU (if still there), tap, and — unless kept for a later start — the DHCP reservation.
    func releaseResources(keepDHCP: Bool) async {
        if let pid = VMDriver.runningPid(pidFile: paths.pidFile) { await context.driver.kill(pid: pid, pidFile: paths.pidFile) }
        await context.driver.deleteTap(tap)
        if !keepDHCP, let mac {
            try? await context.dnsmasq.removeHost(mac: mac)
            dhcpEntry = nil
        }
        // a confined QEMU could not remove them itself (they are outside its root)
        unlink(paths.qmpSocket)
        unlink(paths.pidFile)
    }

    // MARK: - status

    func report(phase: InstancePhase) async {
        func str(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        let status: JSONValue = [
            "phase": .string(phase.rawValue), "reason": str(reason), "message": str(message), "accel": str(accel),
            "ip": str(ip), "mac": str(mac), "startedAt": str(startedAt), "consoleTail": str(consoleTail),
            "rebootHandled": str(rebootHandled),
            "steps": .array(steps.map { s in
                [
                    "name": .string(s.name), "component": str(s.component), "state": .string(s.state),
                    "startedAt": str(s.startedAt), "finishedAt": str(s.finishedAt), "message": str(s.message),
                ]
            }),
        ]
        for attempt in 0..<3 {
            do {
                try await context.api.patchInstanceStatus(project: project, name: name, status)
                return
            } catch where error.code == .notFound {
                return
            } catch {
                if attempt == 2 {
                    context.logger.warning("status report failed", metadata: ["instance": "\(project)/\(name)", "error": "\(error.message)"])
                }
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    /// The last `lines` lines of a console log, terminal escape sequences removed.
    static func tail(of path: String, lines: Int) -> String? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        let text = String(decoding: data.suffix(16384), as: UTF8.self)
        var clean = ""
        var inEscape = false
        for ch in text.unicodeScalars {
            if inEscape {
                if (ch.value >= 0x40 && ch.value <= 0x7e) && ch != "[" { inEscape = false }
                continue
            }
            if ch == "\u{1b}" {
                inEscape = true
                continue
            }
            if ch == "\r" { continue }
            if ch.value < 0x20 && ch != "\n" && ch != "\t" { continue }
            clean.unicodeScalars.append(ch)
        }
        let all = clean.split(separator: "\n", omittingEmptySubsequences: true)
        return all.suffix(lines).joined(separator: "\n")
    }
}
