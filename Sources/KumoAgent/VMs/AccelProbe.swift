import Foundation
import KumoModel
import KumoSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Chooses QEMU's accelerator for `auto`: KVM only when a probe boot under KVM shows firmware output within a
/// short timeout (on some hosts /dev/kvm exists but guests hang — nested virtualisation), else TCG. The probe
/// runs once per node in the background (VMs started meanwhile use TCG; it never blocks the agent) and its
/// result is cached in the agent's data directory.
public actor AccelProbe {
    public enum Mode: String, Sendable { case auto, kvm, tcg }
    public enum Result: String, Sendable, Codable { case kvm, tcg }

    let mode: Mode
    let cacheFile: String
    let workDir: String
    let timeout: Duration
    let logger: Logger
    public private(set) var result: Result?
    public private(set) var detail = "not probed yet"

    public init(mode: Mode, cacheFile: String, workDir: String, timeout: Duration = .seconds(4), logger: Logger) {
        self.mode = mode
        self.cacheFile = cacheFile
        self.workDir = workDir
        self.timeout = timeout
        self.logger = logger
    }

    /// The accelerator to use now.
    public func current() -> QEMUCommandLine.Accel {
        switch mode {
        case .kvm: return .kvm
        case .tcg: return .tcg
        case .auto: return result == .kvm ? .kvm : .tcg
        }
    }

    /// Loads the cached result or probes (call from a background task).
    public func run() async {
        guard mode == .auto else {
            detail = "forced \(mode.rawValue)"
            return
        }
        if let text = try? String(contentsOfFile: cacheFile, encoding: .utf8),
            let cached = Result(rawValue: text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            result = cached
            detail = "cached in \(cacheFile)"
            return
        }
        let outcome = await probe()
        result = outcome.0
        detail = outcome.1
        try? (outcome.0.rawValue + "\n").write(toFile: cacheFile, atomically: true, encoding: .utf8)
        logger.notice("accelerator probe", metadata: ["result": "\(outcome.0.rawValue)", "detail": "\(outcome.1)"])
    }

    /// Boots an empty KVM machine and waits for SeaBIOS on its serial port. QEMU runs in the foreground under
    /// `timeout -s KILL`, so even an agent killed mid-probe leaves no hung QEMU behind for long.
    func probe() async -> (Result, String) {
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return (.tcg, "no usable /dev/kvm") }
        guard programExists("qemu-system-x86_64"), programExists("timeout") else {
            return (.tcg, "qemu-system-x86_64 or timeout not installed")
        }
        try? FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let log = workDir + "/probe-console.log", pidFile = workDir + "/probe.pid"
        Self.killLeftover(pidFile: pidFile)
        unlink(log)
        let seconds = max(1, Int(timeout.components.seconds))
        var argv = [
            "timeout", "-s", "KILL", String(seconds + 1), "qemu-system-x86_64", "-accel", "kvm", "-m", "32", "-nodefaults",
            "-no-user-config", "-display", "none", "-serial", "file:\(log)", "-no-reboot", "-pidfile", pidFile,
        ]
        // confined like the VMs' QEMUs, so the probe also answers whether KVM works that way
        if QEMUConfinement.available {
            let root = QEMUConfinement.emptyRoot(dataDir: (workDir as NSString).deletingLastPathComponent)
            do throws(KumoError) { try QEMUConfinement.prepareEmptyRoot(root) } catch {
                return (.tcg, "KVM not probed: \(error.message)")
            }
            argv += QEMUConfinement(user: QEMUConfinement.probeUser, root: root).argv
        }
        let run = Task { try? await Command().run(argv) }
        defer { unlink(pidFile) }
        let deadline = ContinuousClock.now + timeout
        var outcome: (Result, String) = (.tcg, "KVM guest showed no firmware output within \(timeout): using TCG")
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("SeaBIOS") {
                outcome = (.kvm, "KVM guest reached its firmware")
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        Self.killLeftover(pidFile: pidFile)
        _ = await run.value
        return outcome
    }

    /// Kills a probe QEMU named by `pidFile` (a probe interrupted by an agent restart).
    static func killLeftover(pidFile: String) {
        if let pid = VMDriver.runningPid(pidFile: pidFile) { Glibc.kill(pid, SIGKILL) }
    }

    public func state() -> JSONValue {
        ["mode": .string(mode.rawValue), "result": result.map { .string($0.rawValue) } ?? .null, "detail": .string(detail),
         "using": .string(current().rawValue)]
    }
}
