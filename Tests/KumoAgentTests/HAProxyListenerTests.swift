import Foundation
import KumoModel
import KumoSystem
import Testing

@testable import KumoAgent

/// What the external-port guard reads, as values: the kernel's listening table (/proc/net/tcp{,6}), HAProxy's
/// bind failures from its log, the listeners a config must have, and the bind probe against a socket this test
/// holds itself.
@Suite struct HAProxyListenerTests {
    // Real rows (HAProxy 2.6 on a VIP, busybox nc on the IPv6 wildcard), plus an established connection and
    // crafted addresses. The address words are the kernel's bytes printed as native 32-bit words, so these
    // strings are what a little-endian machine (x86-64, arm64) shows.
    static let tcp = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0A00600A:0050 00000000:0000 0A 00000002:00000000 00:00000000 00000000     0        0 149678 1 00000000e9163806 100 0 0 10 0
           1: 120200C0:7580 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 150001 1 0000000000000000 100 0 0 10 0
           2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 150002 1 0000000000000000 20 4 30 10 -1
           3: 00000000:7582 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 150003 1 0000000000000000 100 0 0 10 0
        """
    static let tcp6 = """
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000000000000:758A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 149599 1 00000000a6ce52b3 100 0 0 10 0
           1: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 150010 1 0000000000000000 100 0 0 10 0
           2: 0000000000000000FFFF0000120200C0:7584 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 150011 1 0000000000000000 100 0 0 10 0
        """

    @Test func parsesListeningRowsOfBothTables() {
        let table = ListenerTable.parse(tcp: Self.tcp, tcp6: Self.tcp6)
        #expect(table.rows.map(\.listener.description) == [
            "10.96.0.10:80", "192.0.2.18:30080", "0.0.0.0:30082", "[::]:30090", "[::1]:22", "[::ffff:192.0.2.18]:30084",
        ], "LISTEN rows only (the established 127.0.0.1:8080 row is not one)")
        #expect(table.rows.map(\.inode) == [149678, 150001, 150003, 149599, 150010, 150011])
        #expect(table.held(by: [149678, 150001, 999]) == [Listener(address: "10.96.0.10", port: 80), Listener(address: "192.0.2.18", port: 30080)])
        #expect(ListenerTable.parse("garbage\n 0: zz:zz 0A\n", v6: false).isEmpty, "unparsable rows are skipped")
    }

    @Test func findsWhatBlocksABind() {
        let table = ListenerTable.parse(tcp: Self.tcp, tcp6: Self.tcp6)
        func blockers(_ port: Int) -> [UInt64] { table.blocking(Listener(address: "192.0.2.18", port: port)).map(\.inode) }
        #expect(blockers(30080) == [150001], "the same address and port")
        #expect(blockers(30082) == [150003], "the IPv4 wildcard")
        #expect(blockers(30090) == [149599], "the dual-stack IPv6 wildcard (what busybox nc -l binds)")
        #expect(blockers(30084) == [150011], "the IPv4-mapped address")
        #expect(blockers(30081).isEmpty)
        #expect(table.blocking(Listener(address: "192.0.2.19", port: 30080)).isEmpty, "another address on the port")
    }

    @Test func parsesHAProxysBindFailures() {
        let log = """
            [NOTICE]   (29705) : haproxy version is 2.6.12-1+deb12u4
            [NOTICE]   (29705) : path to executable is /usr/sbin/haproxy
            [ALERT]    (29705) : Binding [haproxy.cfg:30] for frontend demo.blocked:80: cannot bind socket (Address already in use) for [192.0.2.18:30090]
            [ALERT]    (29705) : Binding [haproxy.cfg:41] for frontend demo.web:80: cannot bind socket (Cannot assign requested address) for [10.96.0.10:80]
            [ALERT]    (29705) : Starting frontend demo.v6:80: cannot bind socket (Address already in use) for [:::30091]
            [ALERT]    (29705) : [haproxy.main()] Some protocols failed to start their listeners! Exiting.
            """
        let failures = HAProxySupervisor.bindFailures(log)
        #expect(failures == [
            Listener(address: "192.0.2.18", port: 30090): "Address already in use",
            Listener(address: "10.96.0.10", port: 80): "Cannot assign requested address",
            Listener(address: "::", port: 30091): "Address already in use",
        ])
        #expect(HAProxySupervisor.bindFailures("[ALERT] (1) : config : parsing [x.cfg:3]: unknown keyword 'nope'").isEmpty)
        #expect(Listener(parsing: "[::1]:80") == Listener(address: "::1", port: 80))
        #expect(Listener(parsing: "10.0.0.1:99999") == nil)
    }

    @Test func expectedListenersLeaveWithheldPortsOut() {
        var config = HAProxyConfigTests.config([HAProxyConfigTests.db, HAProxyConfigTests.web(endpoints: 1)])
        let external = Listener(address: "192.0.2.18", port: 30080)
        #expect(config.externalListeners() == [external: "demo/web"])
        #expect(config.expectedListeners() == [
            Listener(address: "10.96.0.10", port: 80), Listener(address: "10.96.0.10", port: 9090),
            Listener(address: "10.96.0.11", port: 5432), external,
        ])
        config.withheldExternalPorts = [30080]
        #expect(!config.expectedListeners().contains(external))
        #expect(config.expectedListeners().count == 3)
        config.nodeAddress = nil
        #expect(config.externalListeners().isEmpty, "no node address: no external binds at all")
    }

    /// The probe against a port this test holds (the IPv4 wildcard on loopback's namespace: the agent's own) and
    /// one it just released. Then the busy port's holder is named from the table the probe read.
    @Test func bindProbeSeesAHeldPortAndNamesItsHolder() async throws {
        var (fd, port) = try Self.listeningOnLoopback()
        var open = true
        defer { if open { close(fd) } }
        let held = Listener(address: "127.0.0.1", port: port)

        let report = try await BindProbe.probe([held], netns: nil)
        #expect(report.busy[held] == EADDRINUSE)
        let reason = LoadBalancerManager.describeBusy(held, table: report.table, error: report.busy[held])
        #expect(reason.hasPrefix("held by pid \(getpid()) ("), "\(reason)")
        #expect(reason.hasSuffix("on 127.0.0.1:\(port)"), "\(reason)")

        // free once closed (the probe itself never listens, so probing twice is fine). The tests running beside
        // this one connect over loopback all the time, and a connection's ephemeral local port can be the one
        // just released before the probe binds it: a port counts as free when, of three released, one reads free.
        var freed: [Int32] = []
        for attempt in 0..<3 {
            if attempt > 0 { (fd, port) = try Self.listeningOnLoopback(); open = true }
            close(fd)
            open = false
            freed.append(BindProbe.bindError(Listener(address: "127.0.0.1", port: port)))
            if freed.last == 0 { break }
        }
        #expect(freed.last == 0, "bind errors of released ports: \(freed)")
        #expect(BindProbe.bindError(Listener(address: "192.0.2.250", port: port)) == EADDRNOTAVAIL, "an address not on this host")
    }

    /// A TCP socket listening on 127.0.0.1 at a port the kernel chose, and that port.
    static func listeningOnLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            close(fd)
            throw KumoError(.internal, "cannot listen on 127.0.0.1: errno \(errno)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}
