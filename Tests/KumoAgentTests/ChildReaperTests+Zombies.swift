import Foundation
import KumoModel
import KumoSystem
import Logging
import Testing

@testable import KumoAgent

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 18's count: the zombies of real HAProxy reloads (`-D`, old processes replaced with `-sf`) and of exec
/// probes through the runc driver (a timed-out probe's process is left behind when its `runc exec` is killed).
/// In `ChildReaperTests` so it never runs next to another sweep that would reap what it counts.
extension ChildReaperTests {
    static let zombieVIP = "10.96.0.11"

    /// Zombie children of this process whose name is `name`.
    static func zombies(named name: String) -> [ProcessStat] {
        ProcessStat.children(of: getpid()).filter { $0.exited && $0.name == name }
    }

    /// Applies `count` different configs (the first starts HAProxy, every other one reloads it) and waits until
    /// the replaced processes have exited.
    static func reload(_ supervisor: HAProxySupervisor, dir: String, from generation: Int, count: Int) async throws {
        for g in generation..<(generation + count) {
            let text = HAProxyConfig(
                node: "z1", adminSocket: supervisor.adminSocket, aliveSocket: supervisor.aliveSocket, nodeAddress: nil,
                services: [
                    LBService(
                        project: "demo", name: "web", vip: zombieVIP, ports: [ServicePort(port: 80, targetPort: 18081, protocol: .http)],
                        endpoints: [Endpoint(ip: "127.0.0.1", replica: "web-\(g)")], generation: g)
                ]
            ).render()
            try await supervisor.apply(text)
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while HAProxySupervisor.processes(config: dir + "/haproxy.cfg").filter(HAProxySupervisor.alive).count > 1,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// 10 probes that pass and 10 that time out (their `sleep` outlives the killed `runc exec` by a moment).
    static func probe(_ driver: RuncSandboxDriver, _ id: String) async -> [Int32] {
        var codes: [Int32] = []
        for i in 0..<20 {
            if i % 2 == 0 {
                codes.append(await driver.exec(id, ["true"], timeout: .seconds(10)))
            } else {
                codes.append(await driver.exec(id, ["sleep", "0.5"], timeout: .milliseconds(150)))
            }
        }
        return codes
    }

    @Test(
        "no zombie outlives the sweep after 20 HAProxy reloads and 20 exec probes (without it: one per reload and per timed-out probe)",
        .enabled(if: getuid() == 0 && programExists("/usr/sbin/haproxy") && RuntimeFixture.canRun, "needs root, haproxy, runc, busybox"))
    func zombiesAfterReloadsAndProbes() async throws {
        let ns = "kzb\(getpid() % 100000)"
        let dir = NSTemporaryDirectory() + "kumo-zombies-\(ns)"
        var logger = Logger(label: "test.zombies")
        logger.logLevel = .warning
        try await Command().check(["ip", "netns", "add", ns])
        do {
            try await Command().check(["ip", "-n", ns, "link", "set", "lo", "up"])
            try await Command().check(["ip", "-n", ns, "addr", "add", Self.zombieVIP + "/32", "dev", "lo"])
            let supervisor = HAProxySupervisor(dir: dir, hostNetns: ns, logger: logger)
            try await RuntimeFixture.with { f in
                let id = "probed-\(f.prefix)"
                let spec = f.spec(id: id, args: ["sleep", "1000"])
                let bundle = try f.bundles.create(id: id, imageRootfs: f.imageRootfs, config: OCIBundle.config(for: spec))
                let log = try ContainerLog(directory: f.logs, id: id)
                let fd = try log.open()
                defer { close(fd) }
                _ = try await f.runc.run(id: id, bundle: bundle, stdout: fd, stderr: fd)
                var config = AgentConfiguration(server: "https://127.0.0.1:1", nodeName: "zombies", dataDir: f.dir + "/agent")
                config.runcRoot = f.dir + "/runc"
                let driver = try RuncSandboxDriver(config: config, logger: logger)

                // 1. no sweep: the zombies pile up, as the issue counted on the demo cloud
                let haproxyBefore = Set(Self.zombies(named: "haproxy").map(\.pid))
                try await Self.reload(supervisor, dir: dir, from: 1, count: 21)
                let codes = await Self.probe(driver, id)
                #expect(codes == Array(repeating: [0, 124], count: 10).flatMap { $0 }, "\(codes)")
                try await Task.sleep(for: .seconds(1))  // the timed-out probes' sleeps end
                let haproxyZombies = Self.zombies(named: "haproxy").filter { !haproxyBefore.contains($0.pid) }
                let probeZombies = Self.zombies(named: "sleep")
                #expect(haproxyZombies.count >= 20, "one zombie per replaced HAProxy: \(haproxyZombies.count)")
                #expect(probeZombies.count >= 10, "one zombie per timed-out probe: \(probeZombies.count)")
                let reaped = await reaper.sweep()
                #expect(reaped >= haproxyZombies.count + probeZombies.count)
                for z in haproxyZombies + probeZombies {
                    #expect(ProcessStat.read(z.pid) == nil, "\(z.name)[\(z.pid)] still there after the sweep")
                }

                // 2. the agent's loop: 20 more reloads and 20 more probes, then nothing lingers
                let loop = Task { await reaper.run(every: .seconds(1)) }
                defer { loop.cancel() }
                try await Self.reload(supervisor, dir: dir, from: 22, count: 20)
                #expect(await Self.probe(driver, id).count == 20)
                try await Task.sleep(for: .seconds(1))
                let left = await lingeringZombies()
                #expect(left.isEmpty, "zombies that outlived the sweep loop: \(left.map { "\($0.name)[\($0.pid)]" })")
                #expect(await supervisor.reloads == 41)
            }
        } catch {
            await Self.removeZombieTestNamespace(ns, dir: dir)
            throw error
        }
        await Self.removeZombieTestNamespace(ns, dir: dir)
    }

    static func removeZombieTestNamespace(_ ns: String, dir: String) async {
        for pid in HAProxySupervisor.processes(config: dir + "/haproxy.cfg") { kill(pid, SIGKILL) }
        _ = try? await Command().run(["ip", "netns", "del", ns])
        try? FileManager.default.removeItem(atPath: dir)
    }
}
