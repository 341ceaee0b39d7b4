import Foundation
import KumoModel
import KumoSystem
import KumoTestSupport
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

    @Test func startReloadRestartReset() async throws {
        let host = LBTestHost(prefix: "klb", label: "lb", address: Self.vip)
        defer { host.tearDown() }
        try await host.start()
        let (ns, dir) = (host.ns, host.dir)

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
        try await eventually("VIP answers") { try await host.curl(Self.vip).stdout == "hello from kumo\n" }
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
                let r = try await host.curl(Self.vip)
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
        #expect(try await host.curl(Self.vip).succeeded)
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
        try await eventually("dead") { !HAProxySupervisor.alive(pid) }
        #expect(await supervisor.restartIfDead())
        try await eventually("VIP answers after restart") { try await host.curl(Self.vip).succeeded }

        // reset: HAProxy stopped, VIP removed
        await LoadBalancerManager.reset(dir: dir, hostNetns: ns, serviceCIDR: IPv4Network("10.96.0.0/16")!)
        try await eventually("no haproxy left") { HAProxySupervisor.processes(config: dir + "/haproxy.cfg").isEmpty }
        let addrs = try await host.sh(["ip", "-n", ns, "addr", "show", "dev", "lo"]).stdout
        #expect(!addrs.contains(Self.vip), "\(addrs)")
    }

    func expectConfined(_ pid: Int32, chroot: String, uid: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = try #require(ProcFile.read("/proc/\(pid)/status"))
        let uids = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst()
        #expect(uids?.map(String.init) == Array(repeating: String(uid), count: 4), "real, effective, saved, fs uid: \(uids ?? [])", sourceLocation: sourceLocation)
        #expect(uid != 0, sourceLocation: sourceLocation)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") == chroot, sourceLocation: sourceLocation)
    }
}
