import Foundation
import KumoModel
import KumoSystem
import Testing

@testable import KumoAgent

/// The pure parts of the agent's node health report (DNS packets, ping output, DHCP refusals by MAC, log tails,
/// deadlines) and the DNS liveness probe against a UDP responder on loopback and a real dnsmasq in a throwaway
/// network namespace (answering, then SIGSTOPped: running but not answering).
@Suite(.serialized)
struct NodeHealthTests {
    // MARK: DNS

    @Test func dnsQueryBytes() throws {
        let q = try #require(DNSProbe.query(id: 0xbeef, name: "web.demo.kumo"))
        #expect(q == [
            0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            3, 0x77, 0x65, 0x62, 4, 0x64, 0x65, 0x6d, 0x6f, 4, 0x6b, 0x75, 0x6d, 0x6f, 0,
            0x00, 0x01, 0x00, 0x01,
        ])
        #expect(DNSProbe.query(id: 1, name: "kumo.") == DNSProbe.query(id: 1, name: "kumo"))
        #expect(DNSProbe.query(id: 1, name: "") == nil)
        #expect(DNSProbe.query(id: 1, name: "a..b") == nil)
        #expect(DNSProbe.query(id: 1, name: String(repeating: "x", count: 64) + ".kumo") == nil)
    }

    @Test func dnsAnswerHeader() {
        // NXDOMAIN answer to 0xbeef: QR|RD|RA, rcode 3
        let nx: [UInt8] = [0xbe, 0xef, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0]
        #expect(DNSProbe.parseAnswer(nx, id: 0xbeef) == .init(rcode: 3, answers: 0))
        #expect(DNSProbe.parseAnswer(nx, id: 0xbeee) == nil)  // another query's answer
        #expect(DNSProbe.parseAnswer(Array(nx.prefix(11)), id: 0xbeef) == nil)
        var query = nx
        query[2] = 0x01  // QR clear: a query, not an answer
        #expect(DNSProbe.parseAnswer(query, id: 0xbeef) == nil)
        let ok: [UInt8] = [0x00, 0x07, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        #expect(DNSProbe.parseAnswer(ok, id: 7)?.rcode == 0 && DNSProbe.parseAnswer(ok, id: 7)?.answers == 1)
    }

    @Test func dnsProbeAgainstLoopbackResponder() async throws {
        let responder = try UDPResponder(answer: true)
        defer { responder.close() }
        let result = await DNSProbe.ask(server: "127.0.0.1", port: responder.port, name: "x.kumo", timeout: .seconds(1))
        #expect(try result.get() == .init(rcode: 3, answers: 0))
    }

    @Test func dnsProbeTimesOutOnSilence() async throws {
        let silent = try UDPResponder(answer: false)
        defer { silent.close() }
        let start = ContinuousClock.now
        let result = await DNSProbe.ask(server: "127.0.0.1", port: silent.port, name: "x.kumo", timeout: .milliseconds(300))
        let elapsed = ContinuousClock.now - start
        guard case .failure(let why) = result else {
            Issue.record("a silent server answered")
            return
        }
        #expect(why.message.contains("no DNS answer"))
        #expect(elapsed < .seconds(2))
    }

    @Test func dnsProbeNamesARefusal() async throws {
        // nothing listens: the kernel's port unreachable comes back as "connection refused", fast
        let port = try UDPResponder.freePort()
        let result = await DNSProbe.ask(server: "127.0.0.1", port: port, name: "x.kumo", timeout: .seconds(1))
        guard case .failure(let why) = result else {
            Issue.record("nothing listens, yet an answer")
            return
        }
        #expect(why.message.contains("refused"))
    }

    static var canRunDnsmasq: Bool { getuid() == 0 && programExists("ip") && programExists("dnsmasq") && programExists("nsenter") }

    /// A real dnsmasq on 127.0.0.1 in a namespace the test creates, probed through `setns` the way the agent
    /// probes its node's: it answers; SIGSTOPped it keeps its pid and socket and does not; SIGCONT, it answers.
    @Test(.enabled(if: NodeHealthTests.canRunDnsmasq, "needs root, ip, nsenter, dnsmasq"))
    func dnsProbeSeesAStoppedDnsmasq() async throws {
        let ns = "kh\(getpid() % 100_000)"
        let dir = NSTemporaryDirectory() + "kumo-health-\(ns)"
        let c = Command()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        _ = try? await c.run(["ip", "netns", "del", ns])
        try await c.check(["ip", "netns", "add", ns])
        defer {
            if let text = try? String(contentsOfFile: dir + "/pid", encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(pid, SIGCONT)
                kill(pid, SIGKILL)
            }
            _ = try? Command().runBlocking(["ip", "netns", "del", ns])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try await c.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        let port: UInt16 = 15353
        try await c.check([
            "nsenter", "--net=/run/netns/\(ns)", "dnsmasq", "--conf-file=/dev/null", "--pid-file=\(dir)/pid",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(port)", "--no-resolv", "--no-hosts",
            "--local=/kumo/",
        ])
        var pid: Int32?
        for _ in 0..<50 {
            if let text = try? String(contentsOfFile: dir + "/pid", encoding: .utf8) {
                pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
                if pid != nil { break }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let dnsmasq = try #require(pid)
        let answered = await DNSProbe.ask(server: "127.0.0.1", port: port, name: "nothing.kumo", timeout: .seconds(1), netns: ns)
        #expect(try answered.get().rcode == 3)  // NXDOMAIN: it answers
        // the agent's own namespace has no such listener: the probe really ran in the test's namespace
        let outside = await DNSProbe.ask(server: "127.0.0.1", port: port, name: "nothing.kumo", timeout: .milliseconds(300))
        #expect((try? outside.get()) == nil)

        kill(dnsmasq, SIGSTOP)
        try await Task.sleep(for: .milliseconds(50))
        #expect(ProcessStat.read(dnsmasq)?.state == "T" && ProcessStat.isLive(dnsmasq))
        let start = ContinuousClock.now
        let stopped = await DNSProbe.ask(server: "127.0.0.1", port: port, name: "nothing.kumo", timeout: .seconds(1), netns: ns)
        #expect((try? stopped.get()) == nil)
        #expect(ContinuousClock.now - start < .seconds(2))

        kill(dnsmasq, SIGCONT)
        let again = await DNSProbe.ask(server: "127.0.0.1", port: port, name: "nothing.kumo", timeout: .seconds(1), netns: ns)
        #expect((try? again.get()) != nil)
    }

    // MARK: ping

    @Test func pingArgvAndOutput() {
        #expect(PingProbe.argv(address: "192.0.2.7", hostNetns: nil) == ["ping", "-c", "1", "-W", "1", "-n", "192.0.2.7"])
        #expect(PingProbe.argv(address: "192.0.2.7", payload: 1472, hostNetns: "n1") == [
            "nsenter", "--net=/run/netns/n1", "ping", "-c", "1", "-W", "1", "-n", "-M", "do", "-s", "1472", "192.0.2.7",
        ])
        let reply = """
            PING 192.0.2.7 (192.0.2.7) 56(84) bytes of data.
            64 bytes from 192.0.2.7: icmp_seq=1 ttl=64 time=0.412 ms

            --- 192.0.2.7 ping statistics ---
            1 packets transmitted, 1 received, 0% packet loss, time 0ms
            rtt min/avg/max/mdev = 0.412/0.412/0.412/0.000 ms
            """
        #expect(PingProbe.rttMs(reply) == 0.412)
        #expect(PingProbe.rttMs("1 packets transmitted, 0 received, 100% packet loss, time 0ms") == nil)
        #expect(PingProbe.failure(stdout: "", stderr: "ping: local error: message too long, mtu=1450\n") == "local error: message too long, mtu=1450")
        #expect(PingProbe.failure(
            stdout: "From 192.0.2.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n\n--- stats ---\n", stderr: "")
            == "From 192.0.2.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)")
        #expect(PingProbe.failure(stdout: "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n", stderr: "") == "no reply within 1 s")
    }

    @Test(.enabled(if: programExists("ping"), "needs ping"))
    func pingLoopback() async {
        let out = await PingProbe.probeAll(
            [.init(node: "self", address: "127.0.0.1")], fullSize: 1500, hostNetns: nil)
        #expect(out.count == 1)
        #expect(out.first?.reachable == true && out.first?.fullSizeReachable == true && out.first?.probeBytes == 1500)
        #expect(out.first?.rttMs != nil)
    }

    // MARK: DHCP refusals

    static let refusalLog = """
        Nov 26 20:31:00 dnsmasq-dhcp[20984]: 2660183843 DHCPREQUEST(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 
        Nov 26 20:31:00 dnsmasq-dhcp[20984]: 2660183843 DHCPNAK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 wrong address
        Nov 26 20:31:02 dnsmasq-dhcp[20984]: 2660183844 DHCPNAK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 wrong address
        Nov 26 20:31:03 dnsmasq-dhcp[20984]: 2660183845 DHCPNAK(kumo0) 10.250.1.9 02:6b:0a:fa:01:05 lease not found
        Nov 26 20:31:04 dnsmasq-dhcp[20984]: 1234 DHCPDISCOVER(kumo0) 02:aa:bb:cc:dd:ee no address available
        Nov 26 20:31:05 dnsmasq-dhcp[20984]: 1235 DHCPDISCOVER(kumo0) 02:AA:BB:CC:DD:EE no address available
        Nov 26 20:31:05 dnsmasq-dhcp[20984]: 1236 DHCPACK(kumo0) 10.250.1.6 02:6b:0a:fa:01:06 vm2
        """

    @Test func refusalsByMACKindAndReason() {
        var p = DHCPLogParser()
        let t0 = Date(timeIntervalSince1970: 10_000)
        for (i, line) in Self.refusalLog.split(separator: "\n").enumerated() { p.consume(line, at: t0.addingTimeInterval(Double(i))) }
        let r = p.recentRefusals(now: t0.addingTimeInterval(10))
        #expect(r.map(\.mac) == ["02:6b:0a:fa:01:05", "02:aa:bb:cc:dd:ee", "02:6b:0a:fa:01:05"])
        #expect(r[0].kind == "DHCPNAK" && r[0].reason == "wrong address" && r[0].count == 2)
        #expect(r[0].lastLine.hasSuffix("2660183844 DHCPNAK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 wrong address"))
        #expect(r[0].lastTime == t0.addingTimeInterval(2))
        #expect(r[1].kind == "no address available" && r[1].reason == nil && r[1].count == 2)
        #expect(r[1].lastLine.contains("02:AA:BB:CC:DD:EE no address available"))
        #expect(r[2].kind == "DHCPNAK" && r[2].reason == "lease not found" && r[2].count == 1)
        // ten minutes after the first NAK it fell out of the window; the rest stay until they do too
        let later = p.recentRefusals(now: t0.addingTimeInterval(601.5))
        #expect(later.map { "\($0.mac) \($0.reason ?? "-") \($0.count)" } == [
            "02:aa:bb:cc:dd:ee - 2", "02:6b:0a:fa:01:05 lease not found 1", "02:6b:0a:fa:01:05 wrong address 1",
        ])
        #expect(p.recentRefusals(now: t0.addingTimeInterval(700)).isEmpty)
        #expect(p.refusals.entries.isEmpty)
    }

    @Test func refusalWindowIsBounded() {
        var w = DHCPRefusalWindow(window: 600, maxKeys: 3, maxTimesPerKey: 5)
        let t0 = Date(timeIntervalSince1970: 0)
        for i in 0..<10 {
            let mac = String(format: "02:00:00:00:00:%02x", i)
            let line = "Nov 26 20:31:00 dnsmasq-dhcp[1]: 1 DHCPNAK(kumo0) 10.0.0.\(i) \(mac) wrong address"
            for k in 0..<8 {
                if let e = DHCPLogParser.parse(line, at: t0.addingTimeInterval(Double(i * 10 + k))) { w.record(e, line: line) }
            }
        }
        let r = w.refusals(now: t0.addingTimeInterval(200))
        #expect(r.count == 3)
        #expect(Set(r.map(\.mac)) == ["02:00:00:00:00:07", "02:00:00:00:00:08", "02:00:00:00:00:09"])
        #expect(r.allSatisfy { $0.count == 5 })
        // not refusals: an ACK, and a DISCOVER without the phrase
        for line in ["x dnsmasq-dhcp[1]: 1 DHCPACK(kumo0) 10.0.0.1 02:00:00:00:00:01 vm", "x dnsmasq-dhcp[1]: 1 DHCPDISCOVER(kumo0) 02:00:00:00:00:01 "] {
            #expect(DHCPLogParser.parse(line, at: t0).flatMap(DHCPRefusalWindow.key(of:)) == nil)
        }
    }

    // MARK: log tail, deadline

    @Test func lastLogLine() throws {
        #expect(LastLogLine.lastLine(Array("first\nerror: cannot open /data\n\n  \n".utf8)) == "error: cannot open /data")
        #expect(LastLogLine.lastLine(Array("\n\n".utf8)) == nil)
        let path = NSTemporaryDirectory() + "kumo-health-log-\(getpid()).log"
        defer { unlink(path) }
        let big = String(repeating: "noise line\n", count: 5000) + "panic: out of memory\n\n"
        try big.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(LastLogLine.read(path: path, maxBytes: 1024) == "panic: out of memory")
        #expect(LastLogLine.read(path: path + ".missing") == nil)
    }

    @Test func deadlineReturnsNilInTime() async {
        let start = ContinuousClock.now
        let late: Int? = await Deadline.run(.milliseconds(100)) {
            // blocking work that ignores cancellation
            await withCheckedContinuation { cont in DispatchQueue.global().async { usleep(800_000); cont.resume(returning: 1) } }
        }
        #expect(late == nil)
        #expect(ContinuousClock.now - start < .milliseconds(600))
        #expect(await Deadline.run(.seconds(2)) { 42 } == 42)
    }
}

/// A UDP socket on 127.0.0.1 (a free port) and a thread that answers every query with NXDOMAIN (`answer`), or
/// never (silence: a stopped server).
final class UDPResponder: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init(answer: Bool) throws {
        (fd, port) = try Self.bound()
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard answer else { return }
        let fd = self.fd
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 512)
            for _ in 0..<50 {
                var from = sockaddr_in()
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = withUnsafeMutablePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                        buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, sa, &len) }
                    }
                }
                if n < 0 { if errno == EAGAIN { continue } else { return } }
                guard n >= 12 else { continue }
                var reply = Array(buffer[0..<n])
                reply[2] = 0x81  // QR, RD
                reply[3] = 0x83  // RA, NXDOMAIN
                _ = withUnsafePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                        reply.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) }
                    }
                }
                return
            }
        }
        thread.start()
    }

    func close() { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }

    static func bound() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard fd >= 0, ok else { throw KumoError(.internal, "cannot bind a UDP socket on 127.0.0.1") }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// A port nothing listens on (bound, read, released).
    static func freePort() throws -> UInt16 {
        let (fd, port) = try bound()
        Glibc.close(fd)
        return port
    }
}
