import Foundation
import KumoModel
import Testing

@testable import KumoAgent

/// The pure parts of the dnsmasq supervisor: argv, the two data files, the `--log-dhcp` parser.
struct DnsmasqUnitTests {
    static let config = DnsmasqConfig(subnet: IPv4Network("10.244.3.0/24")!, directory: "/run/kumo/n1/dnsmasq")

    @Test func argvDHCPOnly() throws {
        try Self.config.validate()
        #expect(Self.config.argv() == [
            "dnsmasq", "--conf-file=/dev/null", "--pid-file=/run/kumo/n1/dnsmasq/dnsmasq.pid", "--bind-interfaces",
            "--interface=kumo0", "--except-interface=lo", "--listen-address=10.244.3.1",
            "--dhcp-range=10.244.3.0,static,255.255.255.0,3600", "--dhcp-hostsfile=/run/kumo/n1/dnsmasq/dhcp-hosts",
            "--dhcp-leasefile=/run/kumo/n1/dnsmasq/dhcp.leases", "--dhcp-option=option:router,10.244.3.1",
            "--dhcp-option-force=option:mtu,1450", "--log-dhcp", "--log-facility=/run/kumo/n1/dnsmasq/dnsmasq.log",
            "--no-resolv", "--no-hosts", "--addn-hosts=/run/kumo/n1/dnsmasq/dns-hosts", "--port=0",
        ])
    }

    @Test func argvWithDNS() {
        var c = Self.config
        c.dnsEnabled = true
        let argv = c.argv()
        #expect(!argv.contains("--port=0"))
        #expect(argv.suffix(3) == ["--local=/kumo/", "--domain-needed", "--dhcp-option=option:dns-server,10.244.3.1"])
    }

    @Test func badConfigIsRefused() {
        var c = Self.config
        c.leaseSeconds = 60
        #expect(throws: KumoError.self) { try c.validate() }
        c = Self.config
        c.directory = "relative/dir"
        #expect(throws: KumoError.self) { try c.validate() }
        c = Self.config
        c.interface = "bad name;"
        #expect(throws: KumoError.self) { try c.validate() }
        c = Self.config
        c.dnsDomain = "Not A Domain"
        #expect(throws: KumoError.self) { try c.validate() }
    }

    @Test func hostsFileIsSortedAndRejectsDuplicates() throws {
        let a = try DHCPHost(mac: "02:6B:0A:F4:03:0A", name: "vm-a", ip: IPv4Address("10.244.3.10")!)
        let b = try DHCPHost(mac: "02:6b:0a:f4:03:05", name: "vm-b", ip: IPv4Address("10.244.3.5")!)
        let sameIP = try DHCPHost(mac: "02:6b:0a:f4:03:0b", name: "vm-c", ip: IPv4Address("10.244.3.10")!)
        let (text, rejected) = DnsmasqConfig.hostsFile([a, sameIP, b])
        #expect(text == "02:6b:0a:f4:03:05,vm-b,10.244.3.5\n02:6b:0a:f4:03:0a,vm-a,10.244.3.10\n")
        #expect(rejected == [sameIP])
        #expect(throws: KumoError.self) { try DHCPHost(mac: "02:6b:zz:00:00:01", name: "x", ip: IPv4Address("10.0.0.1")!) }
        #expect(throws: KumoError.self) { try DHCPHost(mac: "02:6b:00:00:00:01", name: "x,y", ip: IPv4Address("10.0.0.1")!) }
        #expect(throws: KumoError.self) { try DHCPHost(mac: "02:6b:00:00:00:01\n", name: "x", ip: IPv4Address("10.0.0.1")!) }
    }

    @Test func filesParseBack() throws {
        let hosts = [
            try DHCPHost(mac: "02:6b:0a:f4:03:0a", name: "vm-a", ip: IPv4Address("10.244.3.10")!),
            try DHCPHost(mac: "02:6b:0a:f4:03:05", name: "vm-b", ip: IPv4Address("10.244.3.5")!),
        ]
        let text = DnsmasqConfig.hostsFile(hosts).text + "garbage\n02:6b:zz,x,10.0.0.1\n"
        #expect(Set(DnsmasqConfig.parseHostsFile(text)) == Set(hosts))
        let records = [try DNSRecord(name: "a.demo.kumo", ip: IPv4Address("10.96.0.1")!), try DNSRecord(name: "b.demo.kumo", ip: IPv4Address("10.96.0.1")!)]
        #expect(Set(DnsmasqConfig.parseAddnHostsFile(DnsmasqConfig.addnHostsFile(records))) == Set(records))
    }

    @Test func addnHostsGroupsNamesPerAddress() throws {
        let text = DnsmasqConfig.addnHostsFile([
            try DNSRecord(name: "web.demo.kumo", ip: IPv4Address("10.96.0.12")!),
            try DNSRecord(name: "API.demo.kumo", ip: IPv4Address("10.96.0.3")!),
            try DNSRecord(name: "www.demo.kumo", ip: IPv4Address("10.96.0.12")!),
        ])
        #expect(text == "10.96.0.3 api.demo.kumo\n10.96.0.12 web.demo.kumo www.demo.kumo\n")
        #expect(throws: KumoError.self) { try DNSRecord(name: "bad name", ip: IPv4Address("10.96.0.1")!) }
    }

    /// Lines as dnsmasq 2.90 wrote them on this machine.
    static let log = """
        Nov 26 20:30:56 dnsmasq[20984]: started, version 2.90 cachesize 150
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: read /tmp/vmx/hosts
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: 3396756847 available DHCP subnet: 10.250.1.0/255.255.255.0
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: 3396756847 DHCPDISCOVER(kumo0) 02:6b:0a:fa:01:05 
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: 3396756847 tags: known, kumo0
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: 3396756847 DHCPOFFER(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 
        Nov 26 20:30:56 dnsmasq-dhcp[20984]: 3396756847 sent size:  3 option: 12 hostname  vm1
        Nov 26 20:30:57 dnsmasq-dhcp[20984]: 3396756847 DHCPREQUEST(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 
        Nov 26 20:30:57 dnsmasq-dhcp[20984]: 3396756847 DHCPACK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 vm1
        Nov 26 20:31:00 dnsmasq-dhcp[20984]: 2660183843 DHCPREQUEST(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 
        Nov 26 20:31:00 dnsmasq-dhcp[20984]: 2660183843 DHCPNAK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 address not available
        Nov 26 20:31:01 dnsmasq-dhcp[20984]: 2660183844 DHCPDISCOVER(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 
        """

    @Test func logParserCountsMessagesAndLeases() {
        var p = DHCPLogParser()
        let t = Date(timeIntervalSince1970: 1000)
        for line in Self.log.split(separator: "\n") { p.consume(line, at: t) }
        #expect(p.counters == ["DISCOVER": 2, "OFFER": 1, "REQUEST": 2, "ACK": 1, "NAK": 1])
        #expect(p.leases["02:6b:0a:fa:01:05"] == .init(mac: "02:6b:0a:fa:01:05", ip: IPv4Address("10.250.1.5")!, hostname: "vm1", observedAt: t))
        #expect(p.lastNAK["02:6b:0a:fa:01:05"]?.detail == "address not available")
        let discover = DHCPLogParser.parse(Self.log.split(separator: "\n").last!, at: t)
        #expect(discover?.ip == IPv4Address("10.250.1.5") && discover?.mac == "02:6b:0a:fa:01:05" && discover?.interface == "kumo0")
        #expect(DHCPLogParser.parse("Nov 26 20:30:56 dnsmasq-dhcp[1]: 3 tags: known, kumo0", at: t) == nil)
        #expect(DHCPLogParser.parse("garbage DHCPACK(kumo0) without a colon", at: t) == nil)
    }

    @Test func logParserKeepsPartialLinesAcrossChunks() {
        var p = DHCPLogParser()
        let bytes = Array(Self.log.utf8) + Array("\n".utf8)
        var rest = p.consume(chunk: Array(bytes[0..<700]))
        rest = p.consume(chunk: rest + Array(bytes[700...]))
        #expect(rest.isEmpty)
        #expect(p.counters["ACK"] == 1 && p.counters["NAK"] == 1)
    }

    @Test func leaseFileParses() {
        let entries = DHCPLeaseFileEntry.parse("1795728657 02:6b:0a:fa:01:05 10.250.1.5 vm1 01:02:6b:0a:fa:01:05\n1 aa:bb:cc:dd:ee:ff 10.0.0.9 * *\nbroken\n")
        #expect(entries.count == 2)
        #expect(entries[0].hostname == "vm1" && entries[1].hostname == nil && entries[1].ip == IPv4Address("10.0.0.9"))
    }
}
