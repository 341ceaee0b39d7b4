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

    /// Boots an empty KVM machine and waits for SeaBIOS on its serial port.
    func probe() async -> (Result, String) {
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return (.tcg, "no usable /dev/kvm") }
        guard programExists("qemu-system-x86_64") else { return (.tcg, "qemu-system-x86_64 not installed") }
        try? FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let log = workDir + "/probe-console.log", pidFile = workDir + "/probe.pid"
        unlink(log)
        unlink(pidFile)
        let argv = [
            "qemu-system-x86_64", "-accel", "kvm", "-m", "32", "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "file:\(log)", "-no-reboot", "-pidfile", pidFile, "-daemonize",
        ]
        guard let r = try? await Command().run(argv), r.succeeded else { return (.tcg, "qemu -accel kvm did not start") }
        let pid = VMDriver.runningPid(pidFile: pidFile)
        defer {
            if let pid { Glibc.kill(pid, SIGKILL) }
            unlink(pidFile)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("SeaBIOS") {
                return (.kvm, "KVM guest reached its firmware")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return (.tcg, "KVM guest showed no firmware output within \(timeout): using TCG")
    }

    public func state() -> JSONValue {
        ["mode": .string(mode.rawValue), "result": result.map { .string($0.rawValue) } ?? .null, "detail": .string(detail),
         "using": .string(current().rawValue)]
    }
}
