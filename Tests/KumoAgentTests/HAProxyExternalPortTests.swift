import Foundation
import KumoAPI
import KumoModel
import KumoSystem
import KumoTestSupport
import Logging
import Synchronization
import Testing

@testable import KumoAgent

/// The load balancer manager against the real HAProxy in a throwaway network namespace, with a port squatter
/// (`busybox nc -l`) on one service's external port: the sync leaves that port out without ever attempting a
/// reload that fails to bind, says who holds it, keeps every VIP answering while another service is added, and
/// publishes the port within 15 s of the squatter leaving. The manager runs without a control plane: services are
/// put into its state directly, their revision counts as acknowledged (so it renews no lease), and its best-effort
/// events go to a closed loopback port.
@Suite(.serialized, .enabled(if: getuid() == 0 && programExists("/usr/sbin/haproxy") && programExists("busybox"), "needs root, haproxy, busybox"))
struct HAProxyExternalPortTests {
    static let nodeAddress = "192.0.2.77"

    static func service(_ name: String, vip: String, external: Int?, generation: Int = 1) -> Service {
        Service(
            metadata: ObjectMeta(name: name, project: "demo"),
            spec: ServiceSpec(
                selector: ["app": "web"], ports: [ServicePort(name: "http", port: 80, targetPort: 18080, protocol: .http)],
                clusterIP: vip, external: external.map { ServiceExternal(port: $0) },
                healthCheck: ServiceHealthCheck(intervalSeconds: 1, rise: 1, fall: 2)),
            status: ServiceStatus(endpoints: [Endpoint(ip: "127.0.0.1", replica: "web-0")], generation: generation))
    }

    /// Puts services into the manager as its watch would, counting their revision as acknowledged already.
    func set(_ manager: LoadBalancerManager, _ services: [Service]) {
        manager.state.withLock { s in
            s.services = Dictionary(uniqueKeysWithValues: services.map { (LoadBalancerManager.key($0), $0) })
            s.synced = true
            s.revision = 1
            s.published = 1
        }
    }

    @Test func aSquattedExternalPortIsLeftOutAndPublishedOnceFree() async throws {
        let host = LBTestHost(prefix: "kxp", label: "lbx", address: Self.nodeAddress)
        var syncLoop: Task<Void, Never>?
        defer {
            syncLoop?.cancel()
            host.tearDown()
        }
        try await host.start()
        let (ns, dir) = (host.ns, host.dir)
        // the squatter: busybox nc listens on the IPv6 wildcard, which takes IPv4 192.0.2.77:30090 too
        let squatter = try host.spawn(["busybox", "nc", "-l", "-p", "30090"])
        let squatterPid = squatter.pid
        try await eventually("the squatter listens") {
            ListenerTable.read(netOf: squatterPid)?.rows.contains { $0.listener.port == 30090 } == true
        }

        var logger = Logger(label: "test.lb")
        logger.logLevel = .warning
        let api = AgentAPI(client: KumoClient(baseURL: "http://127.0.0.1:1", token: "unused", caPEM: nil), node: "n1")
        let manager = LoadBalancerManager(
            api: api, node: "n1", nodeAddress: Self.nodeAddress, serviceCIDR: IPv4Network("10.96.0.0/16")!, hostNetns: ns, dir: dir,
            drainTimeout: .seconds(1), logger: logger)
        let web = Self.service("web", vip: "10.96.0.10", external: 30080)
        let blocked = Self.service("blocked", vip: "10.96.0.11", external: 30090)
        set(manager, [web, blocked])
        await manager.sync()

        // 30090 left out, named with its holder; everything else served
        let withheld = manager.state.withLock { $0.withheld }
        #expect(Array(withheld.keys) == [30090])
        let reason = withheld[30090]?.reason ?? ""
        #expect(reason == "held by pid \(squatterPid) (busybox nc -l -p 30090) on [::]:30090", "\(reason)")
        let lastError = manager.state.withLock { $0.lastError } ?? ""
        #expect(lastError == "external ports not published on this node: 30090 (demo/blocked) \(reason)", "\(lastError)")
        let dump = await manager.stateDump()
        #expect(dump["withheldExternalPorts"]?.arrayValue?.first?["listener"] == "192.0.2.77:30090", "\(dump["withheldExternalPorts"] ?? .null)")
        let cfg = try String(contentsOfFile: dir + "/haproxy.cfg", encoding: .utf8)
        #expect(cfg.contains("    # bind 192.0.2.77:30090 withheld") && cfg.contains("    bind 192.0.2.77:30080\n"), "\(cfg)")
        for target in ["10.96.0.10", "10.96.0.11", "\(Self.nodeAddress):30080"] {
            try await eventually("\(target) answers") { try await host.curl(target).stdout == "hello from kumo\n" }
        }
        guard let pid = await manager.supervisor.runningPid else { Issue.record("haproxy is not running"); return }
        let ids = HAProxySupervisor.unprivilegedIDs()
        let status = ProcFile.read("/proc/\(pid)/status") ?? ""
        #expect(status.contains("\nUid:\t\(ids.uid)\t"), "runs unprivileged")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") == manager.supervisor.chrootDir)

        // a service added while the squatter stays: one hitless reload, no refused connection on any VIP meanwhile
        let stop = Mutex(false)
        let loop = Task {
            var sent = 0
            var why: [String] = []
            while !stop.withLock({ $0 }) {
                for target in ["10.96.0.10", "\(Self.nodeAddress):30080"] {
                    let r = try await host.curl(target)
                    sent += 1
                    if !r.succeeded { why.append("\(target): curl exit \(r.status) \(r.stderr)") }
                }
            }
            return (sent, why)
        }
        try await Task.sleep(for: .milliseconds(300))
        set(manager, [web, blocked, Self.service("late", vip: "10.96.0.12", external: nil)])
        await manager.sync()
        try await eventually("the new service answers") { try await host.curl("10.96.0.12").succeeded }
        try await Task.sleep(for: .milliseconds(500))
        stop.withLock { $0 = true }
        let (sent, failures) = try await loop.value
        #expect(sent > 4)
        #expect(failures.isEmpty, "\(failures.count) of \(sent) requests failed while a service was added: \(failures)")
        #expect(await manager.supervisor.reloads == 2, "started, then reloaded once for the new service")
        #expect(Array(manager.state.withLock { $0.withheld }.keys) == [30090])
        let log = try String(contentsOfFile: dir + "/haproxy.log", encoding: .utf8)
        #expect(!log.contains("cannot bind"), "no load ever tried the squatted port: \(log)")

        // HAProxy's own bind failure is recognised as one (what a lost race looks like), and the running process
        // keeps serving the previous config
        let unguarded = HAProxyConfig(
            node: "n1", adminSocket: manager.supervisor.adminSocket, aliveSocket: manager.supervisor.aliveSocket,
            nodeAddress: Self.nodeAddress, services: [LBService(blocked)!], chroot: manager.supervisor.chrootDir, uid: ids.uid, gid: ids.gid)
        let outcome = await manager.supervisor.load(unguarded.render(), expecting: unguarded.expectedListeners())
        guard case .bindFailed(let unbound) = outcome else { Issue.record("expected a bind failure, got \(outcome)"); return }
        #expect(unbound == [Listener(address: Self.nodeAddress, port: 30090): "Address already in use"])
        #expect(await manager.supervisor.runningPid != nil)
        try await eventually("still serving the previous config") { try await host.curl("10.96.0.12").succeeded }
        #expect(
            try String(contentsOfFile: dir + "/haproxy.cfg", encoding: .utf8).contains("10.96.0.12"),
            "haproxy.cfg is what runs, not the config that failed (an agent restart adopts it)")

        // the squatter leaves: the periodic re-sync publishes the port
        syncLoop = Task { await manager.syncLoop() }
        kill(squatterPid, SIGKILL)
        _ = squatter.waitUntilExit()
        let freed = ContinuousClock.now
        try await eventually("30090 published once free", timeout: .seconds(15)) {
            try await host.curl("\(Self.nodeAddress):30090").stdout == "hello from kumo\n"
        }
        let published = ContinuousClock.now - freed
        try await eventually("nothing withheld") { manager.state.withLock { $0.withheld.isEmpty && $0.lastError == nil } }
        #expect(published <= .seconds(LoadBalancerManager.externalPortRecheck.components.seconds + 3), "\(published)")
        #expect(try String(contentsOfFile: dir + "/haproxy.cfg", encoding: .utf8).contains("    bind 192.0.2.77:30090\n"))
    }
}
