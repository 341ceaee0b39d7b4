import Foundation
import KumoModel
import KumoSystem
import Logging
import Synchronization
import Testing

@testable import KumoAgent

/// The HAProxy supervisor against the real HAProxy in a throwaway network namespace (root): start, hitless
/// reloads under a request loop (chrooted and unprivileged, as the agent runs it), a rejected config leaves the
/// running one alone, restart after kill -9, and reset stops it and removes the VIP.
@Suite(.serialized, .enabled(if: getuid() == 0 && programExists("/usr/sbin/haproxy") && programExists("busybox"), "needs root, haproxy, busybox"))
struct HAProxySupervisorTests {
    static let vip = "10.96.0.10"

    func sh(_ argv: [String]) async throws -> CommandResult { try await Command().run(argv) }

    func curl(_ ns: String) async throws -> CommandResult {
        try await sh(["ip", "netns", "exec", ns, "curl", "-sS", "-f", "--max-time", "2", "http://\(Self.vip)/"])
    }

    @Test func startReloadRestartReset() async throws {
        let ns = "klb\(getpid() % 100000)"
        let dir = NSTemporaryDirectory() + "kumo-lb-\(ns)"
        let www = dir + "-www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try Data("hello from kumo\n".utf8).write(to: URL(fileURLWithPath: www + "/index.html"))
        _ = try await sh(["ip", "netns", "add", ns])
        var httpd: Process?
        defer {
            if let httpd, httpd.isRunning { kill(httpd.processIdentifier, SIGKILL); httpd.waitUntilExit() }
            for pid in HAProxySupervisor.processes(config: dir + "/haproxy.cfg") { kill(pid, SIGKILL) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "del", ns]
            try? p.run()
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: www)
        }
        _ = try await sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        _ = try await sh(["ip", "-n", ns, "addr", "add", Self.vip + "/32", "dev", "lo"])
        let h = Process()
        h.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        h.arguments = ["--net=/run/netns/\(ns)", "busybox", "httpd", "-f", "-p", "127.0.0.1:18080", "-h", www]
        try h.run()
        httpd = h

        var logger = Logger(label: "test.lb")
        logger.logLevel = .warning
        let supervisor = HAProxySupervisor(dir: dir, hostNetns: ns, logger: logger)
        let ids = HAProxySupervisor.unprivilegedIDs()
        func config(generation: Int, servers: Int) -> String {
            HAProxyConfig(
                node: "n1", adminSocket: supervisor.adminSocket, aliveSocket: supervisor.aliveSocket, nodeAddress: nil,
                services: [
                    LBService(
                        project: "demo", name: "web", vip: Self.vip, ports: [ServicePort(port: 80, targetPort: 18080, protocol: .http)],
                        endpoints: (0..<servers).map { Endpoint(ip: "127.0.0.1", replica: "web-\($0)") }, generation: generation)
                ], chroot: supervisor.chrootDir, uid: ids.uid, gid: ids.gid
            ).render()
        }
        let vipListener: Set<Listener> = [Listener(address: Self.vip, port: 80)]
        #expect(try await supervisor.apply(config(generation: 1, servers: 1), expecting: vipListener))
        #expect(try await supervisor.apply(config(generation: 1, servers: 1)) == false, "same config: nothing to do")
        try await eventuallyTrue("VIP answers") { try await curl(ns).stdout == "hello from kumo\n" }
        // confined: it bound as root, then chrooted into the empty directory and dropped to the unprivileged user
        guard let first = await supervisor.runningPid else { Issue.record("not running"); return }
        try expectConfined(first, chroot: supervisor.chrootDir, uid: ids.uid)
        #expect(HAProxySupervisor.heldListeners(pid: first) == vipListener, "the kernel's table: it holds the VIP")

        // hitless reloads while a client keeps sending requests
        let stop = Mutex(false)
        let loop = Task {
            var sent = 0, failed = 0
            var why: [String] = []
            while !stop.withLock({ $0 }) {
                let r = try await curl(ns)
                sent += 1
                if !r.succeeded {
                    failed += 1
                    why.append("curl exit \(r.status) \(r.stderr)")
                }
            }
            return (sent, failed, why)
        }
        for g in 2...7 {
            try await supervisor.apply(config(generation: g, servers: g % 2 + 1), expecting: vipListener)
            try await Task.sleep(for: .milliseconds(150))
        }
        stop.withLock { $0 = true }  // not cancel: that would kill the curl in flight
        let (sent, failed, why) = try await loop.value
        #expect(sent > 5)
        #expect(failed == 0, "\(failed) of \(sent) requests failed across 6 reloads: \(why)")
        #expect(await supervisor.reloads == 7)
        // the hitless reload (-x, -sf) works from a chrooted, unprivileged old process; the new one is confined too
        guard let reloaded = await supervisor.runningPid else { Issue.record("not running"); return }
        #expect(reloaded != first)
        try expectConfined(reloaded, chroot: supervisor.chrootDir, uid: ids.uid)

        // a load whose expected listener HAProxy does not hold is not taken for done (nothing binds 10.96.0.99)
        let missing = await supervisor.load(config(generation: 8, servers: 2), expecting: vipListener.union([Listener(address: "10.96.0.99", port: 80)]))
        guard case .failed(let error) = missing else { Issue.record("expected a failed load, got \(missing)"); return }
        #expect(error.message.contains("does not listen on 10.96.0.99:80"), "\(error.message)")
        #expect(try await supervisor.apply(config(generation: 8, servers: 2), expecting: vipListener), "loaded again, not 'unchanged'")

        // a config HAProxy rejects is not loaded; the running one keeps serving
        await #expect(throws: KumoError.self) { try await supervisor.apply("global\n    no-such-keyword 1\n") }
        #expect(try await curl(ns).succeeded)
        #expect(await supervisor.rejectedConfigs == 1)

        // the Runtime API answers between reloads
        let stat = try await supervisor.runtime().send("show stat")
        #expect(stat.hasPrefix("# pxname,svname"))
        #expect(HAProxyStats.parse(stat).servers("demo.web:80").count == 2)

        // a new agent process adopts the running HAProxy (no second one that could not bind)
        guard case .running(let pid) = await supervisor.state else { Issue.record("not running"); return }
        let adopted = HAProxySupervisor(dir: dir, hostNetns: ns, logger: logger)
        #expect(await adopted.state == .running(pid: pid))
        #expect(try await adopted.apply(config(generation: 8, servers: 2)) == false, "same config as running: nothing to do")

        // killed → started again with the same config
        kill(pid, SIGKILL)
        try await eventuallyTrue("dead") { !HAProxySupervisor.alive(pid) }
        #expect(await supervisor.restartIfDead())
        try await eventuallyTrue("VIP answers after restart") { try await curl(ns).succeeded }

        // reset: HAProxy stopped, VIP removed
        await LoadBalancerManager.reset(dir: dir, hostNetns: ns, serviceCIDR: IPv4Network("10.96.0.0/16")!)
        try await eventuallyTrue("no haproxy left") { HAProxySupervisor.processes(config: dir + "/haproxy.cfg").isEmpty }
        let addrs = try await sh(["ip", "-n", ns, "addr", "show", "dev", "lo"]).stdout
        #expect(!addrs.contains(Self.vip), "\(addrs)")
    }

    func expectConfined(_ pid: Int32, chroot: String, uid: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = try #require(ProcFile.read("/proc/\(pid)/status"))
        let uids = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst()
        #expect(uids?.map(String.init) == Array(repeating: String(uid), count: 4), "real, effective, saved, fs uid: \(uids ?? [])", sourceLocation: sourceLocation)
        #expect(uid != 0, sourceLocation: sourceLocation)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") == chroot, sourceLocation: sourceLocation)
    }

    func eventuallyTrue(_ what: String, timeout: Duration = .seconds(10), _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out: \(what)")
        throw KumoError(.internal, "timed out: \(what)")
    }
}
