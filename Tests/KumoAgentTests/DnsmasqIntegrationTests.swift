import Foundation
import KumoModel
import KumoSystem
import KumoTestSupport
import Logging
import Synchronization
import Testing

@testable import KumoAgent

/// A real dnsmasq under `DnsmasqSupervisor` in a throwaway "host" namespace (bridge `kumo0`), and a real DHCP
/// client (busybox `udhcpc`) in a second namespace on a veth into that bridge: reservation → lease, the counters
/// from the log, a NAK after an address change, DNS on and off, restart after a kill, log rotation, reset.
enum DnsmasqTestHost {
    static var canRun: Bool {
        getuid() == 0 && programExists("ip") && programExists("dnsmasq") && programExists("busybox") && programExists("nsenter")
    }
}

@Suite(.serialized, .enabled(if: DnsmasqTestHost.canRun, "needs root, ip, dnsmasq and busybox"))
struct DnsmasqIntegrationTests {
    static let counter = Atomic<Int>(0)

    /// Host netns `<prefix>-h` (kumo0 = 10.244.250.1/24), client netns `<prefix>-c` (eth0 with `mac`).
    struct Fixture: AsyncFixture {
        let prefix: String
        let dir: String
        let subnet = IPv4Network("10.244.250.0/24")!
        var host: String { prefix + "-h" }
        var client: String { prefix + "-c" }
        let mac = "02:6b:0a:f4:fa:07"

        static func with(_ body: (Fixture) async throws -> Void) async throws {
            let n = DnsmasqIntegrationTests.counter.add(1, ordering: .relaxed).newValue
            let prefix = "kd\(getpid() % 10000)\(n)"
            let f = Fixture(prefix: prefix, dir: NSTemporaryDirectory() + "kumo-dnsmasq-\(prefix)")
            try await f.run(body)
        }

        func setUp() async throws {
            let c = Command()
            try await c.check(["ip", "netns", "add", host])
            try await c.check(["ip", "netns", "add", client])
            try await c.check(["ip", "-n", host, "link", "set", "lo", "up"])
            try await c.check(["ip", "-n", client, "link", "set", "lo", "up"])
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            try await HostBridge(podCIDR: subnet, logger: logger).ensure(hostNetns: host)
            try await c.check(["ip", "-n", host, "link", "add", prefix + "v", "type", "veth", "peer", "name", "eth0", "netns", client])
            try await c.check(["ip", "-n", host, "link", "set", prefix + "v", "master", "kumo0", "up"])
            try await c.check(["ip", "-n", client, "link", "set", "eth0", "address", mac, "mtu", "1450", "up"])
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // udhcpc's hook: configure what it was given (as a guest's init does)
            let hook = "#!/bin/sh\ncase \"$1\" in\n  bound|renew) ip addr flush dev \"$interface\"; ip addr add \"$ip/$mask\" dev \"$interface\" ;;\n  deconfig|nak) ip addr flush dev \"$interface\" ;;\nesac\n"
            FileManager.default.createFile(atPath: dir + "/hook", contents: Data(hook.utf8), attributes: [.posixPermissions: 0o755])
        }

        func supervisor(dns: Bool = false, logMaxBytes: Int64 = 1 << 20) throws -> DnsmasqSupervisor {
            var logger = Logger(label: "kumo.test.dnsmasq")
            logger.logLevel = .warning
            let config = DnsmasqConfig(subnet: subnet, dnsEnabled: dns, directory: dir + "/dnsmasq")
            return try DnsmasqSupervisor(config: config, hostNetns: host, logMaxBytes: logMaxBytes, logger: logger)
        }

        /// A long-running DHCP client in the client namespace (SIGUSR1 = renew). Command.spawn gives it an empty
        /// signal mask (the test process's threads block SIGUSR1, and a child would inherit that and never renew)
        /// and closes every descriptor above 2: a hand-written posix_spawn here once handed udhcpc ~400 of the
        /// test process's sockets, among them another test's listening server, whose restart on its port then
        /// failed with EADDRINUSE.
        func startClient() throws -> ChildProcess {
            try Command().spawn(
                ["/usr/bin/nsenter", "--net=/run/netns/\(client)", "busybox", "udhcpc", "-f", "-i", "eth0", "-s", dir + "/hook", "-t", "20", "-T", "1"])
        }

        static func stopClient(_ child: ChildProcess) {
            child.signal(SIGTERM)
            _ = child.waitUntilExit()
        }

        func clientAddress() async throws -> String {
            let out = try await Command().check(["ip", "-n", client, "-4", "-o", "addr", "show", "dev", "eth0"])
            return out.split(separator: " ").first { $0.contains("/") }.map { String($0.split(separator: "/")[0]) } ?? ""
        }

        func nslookup(_ name: String) async throws -> CommandResult {
            try await Command().run(["nsenter", "--net=/run/netns/\(client)", "busybox", "timeout", "3", "busybox", "nslookup", name, "\(IPv4Address(subnet.address.value + 1))"])
        }

        func cleanup() async {
            await DnsmasqSupervisor.reset(directory: dir + "/dnsmasq")
            for ns in [client, host] { _ = try? await Command().run(["ip", "netns", "del", ns]) }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test func leaseNakDNSRestartRotationReset() async throws {
        try await Fixture.with { f in
            let sup = try f.supervisor(dns: false, logMaxBytes: 4096)
            try await sup.start()
            let firstPid = try #require(await sup.pid)
            let ip1 = IPv4Address(f.subnet.address.value + 7), ip2 = IPv4Address(f.subnet.address.value + 8)
            try await sup.setDHCPHosts([try DHCPHost(mac: f.mac, name: "vm1", ip: ip1)])
            // the files dnsmasq re-reads as nobody are world-readable
            let attrs = try FileManager.default.attributesOfItem(atPath: f.dir + "/dnsmasq/dhcp-hosts")
            #expect((attrs[.posixPermissions] as? Int).map { $0 & 0o004 != 0 } == true)
            #expect(try String(contentsOfFile: f.dir + "/dnsmasq/dhcp-hosts", encoding: .utf8) == "\(f.mac),vm1,\(ip1)\n")

            let client = try f.startClient()
            defer { Fixture.stopClient(client) }
            let lease = await sup.waitForLease(mac: f.mac, ip: ip1, after: Date.distantPast, timeout: .seconds(10))
            #expect(lease?.ip == ip1 && lease?.hostname == "vm1")
            try await eventually("client address \(ip1)") { try await f.clientAddress() == ip1.description }
            var counters = await sup.counters()
            #expect(counters["DISCOVER"]! >= 1 && counters["OFFER"]! >= 1 && counters["REQUEST"]! >= 1 && counters["ACK"]! >= 1)
            #expect(counters["NAK"] == 0)

            // DHCP only: nothing answers DNS
            #expect(try await !f.nslookup("web.demo.kumo").succeeded)

            // The address changes: the client's renewal (SIGUSR1) is refused with a NAK, then it gets the new one.
            let changed = Date()
            try await sup.setHost(try DHCPHost(mac: f.mac, name: "vm1", ip: ip2))
            try await Task.sleep(for: .milliseconds(200))
            client.signal(SIGUSR1)
            let renewed = await sup.waitForLease(mac: f.mac, ip: ip2, after: changed, timeout: .seconds(15))
            #expect(renewed?.ip == ip2)
            counters = await sup.counters()
            #expect(counters["NAK"]! >= 1, "\(counters)")
            #expect(await sup.lastNAK(mac: f.mac)?.detail.contains("address not available") == true)
            try await eventually("client address \(ip2)") { try await f.clientAddress() == ip2.description }

            // DNS switched on (a restart): names of the addn-hosts file answer, on the gateway, port 53.
            try await sup.setDNSRecords([try DNSRecord(name: "web.demo.kumo", ip: IPv4Address("10.96.0.12")!)])
            try await sup.setDNSEnabled(true)
            let dns = try await f.nslookup("web.demo.kumo")
            #expect(dns.succeeded && dns.stdout.contains("10.96.0.12"), "\(dns.stdout)\(dns.stderr)")
            try await sup.setDNSRecords([try DNSRecord(name: "api.demo.kumo", ip: IPv4Address("10.96.0.13")!)])
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await f.nslookup("api.demo.kumo").stdout.contains("10.96.0.13"), "SIGHUP re-read the records")

            // Killed: restarted after the backoff, with the reservations intact.
            let pid = try #require(await sup.pid)
            #expect(pid != firstPid)
            kill(pid, SIGKILL)
            try await eventually("dnsmasq restarted") {
                await sup.tick()
                if let p = await sup.pid { return p != pid }
                return false
            }
            #expect(await sup.metricsSnapshot().restarts == 1)

            // Rotation: the log passed 4 KiB during the exchanges above; the next tick rotates it and dnsmasq
            // writes to the new file after SIGUSR2.
            try await eventually("log rotated") {
                await sup.tick()
                return await sup.metricsSnapshot().rotations >= 1
            }
            #expect(FileManager.default.fileExists(atPath: f.dir + "/dnsmasq/dnsmasq.log.1"))
            try await Task.sleep(for: .milliseconds(100))
            try await sup.setDHCPHosts([])
            try await eventually("dnsmasq writes to the new log") {
                ((try? String(contentsOfFile: f.dir + "/dnsmasq/dnsmasq.log", encoding: .utf8)) ?? "").contains("read ")
            }
            let state = await sup.stateDump()
            #expect(state["process"]?["state"] == "running")
            #expect(state["counters"]?["NAK"]?.numberValue ?? 0 >= 1)

            // A second supervisor (an agent restart) adopts the running dnsmasq instead of starting another.
            let running = try #require(await sup.pid)
            let kept = try DHCPHost(mac: f.mac, name: "vm1", ip: ip2)
            try await sup.setHost(kept)
            let again = try f.supervisor(dns: true, logMaxBytes: 4096)
            try await again.start()
            #expect(await again.pid == running)
            #expect(await again.dhcpHosts == [kept], "the reservations survive an agent restart")
            #expect(await again.dnsRecords.map(\.name) == ["api.demo.kumo"])

            // reset: process gone, files gone
            await DnsmasqSupervisor.reset(directory: f.dir + "/dnsmasq")
            #expect(!DnsmasqSupervisor.processExists(running))
            #expect(!FileManager.default.fileExists(atPath: f.dir + "/dnsmasq"))
        }
    }

    @Test func startFailureIsAClearError() async throws {
        try await Fixture.with { f in
            var logger = Logger(label: "kumo.test.dnsmasq")
            logger.logLevel = .critical
            // no such bridge in that namespace
            let config = DnsmasqConfig(interface: "nokumo9", subnet: f.subnet, directory: f.dir + "/dnsmasq")
            let sup = try DnsmasqSupervisor(config: config, hostNetns: f.host, logger: logger)
            await #expect(throws: KumoError.self) { try await sup.start() }
        }
    }
}
