import KumoModel

/// Everything one node's dnsmasq is started with, and the pure renderers for its argv and its two data files.
/// No I/O: `DnsmasqSupervisor` writes what this renders. One dnsmasq per node, bound to the node bridge only
/// (`--bind-interfaces`, so dnsmasqs of other nodes — other namespaces — never clash), serving
/// - DHCP: static reservations only (`--dhcp-range=<subnet>,static`), gateway and MTU options, every exchange
///   logged (`--log-dhcp`) because dnsmasq keeps no DHCP counters of its own;
/// - DNS (optional): only the names of the `--addn-hosts` file, authoritative for `--local=/<domain>/`, no
///   upstream (`--no-resolv`, `--no-hosts`), on the gateway address port 53. Without DNS, `--port=0`.
public struct DnsmasqConfig: Sendable, Equatable {
    /// The node bridge (`kumo0`).
    public var interface: String
    /// The node's pod subnet and its gateway (`.1`, the bridge address).
    public var subnet: IPv4Network
    public var mtu: Int
    /// DHCP lease time in seconds (dnsmasq's minimum is 120).
    public var leaseSeconds: Int
    /// Serve DNS for `dnsDomain` on the gateway address (port 53); false = DHCP only.
    public var dnsEnabled: Bool
    public var dnsDomain: String
    /// Directory of the pid, hosts, addn-hosts, lease and log files; it and the files it holds must be readable
    /// by `nobody` (dnsmasq drops privileges before it re-reads them on SIGHUP).
    public var directory: String

    public init(
        interface: String = "kumo0", subnet: IPv4Network, mtu: Int = 1450, leaseSeconds: Int = 3600,
        dnsEnabled: Bool = false, dnsDomain: String = "kumo", directory: String
    ) {
        self.interface = interface
        self.subnet = subnet
        self.mtu = mtu
        self.leaseSeconds = leaseSeconds
        self.dnsEnabled = dnsEnabled
        self.dnsDomain = dnsDomain
        self.directory = directory
    }

    public var gateway: IPv4Address { IPv4Address(subnet.address.value + 1) }
    public var netmask: IPv4Address {
        IPv4Address(subnet.prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - subnet.prefixLength))
    }
    public var pidFile: String { directory + "/dnsmasq.pid" }
    public var hostsFile: String { directory + "/dhcp-hosts" }
    public var addnHostsFile: String { directory + "/dns-hosts" }
    public var leaseFile: String { directory + "/dhcp.leases" }
    public var logFile: String { directory + "/dnsmasq.log" }

    /// Refuses values dnsmasq would reject or misread, before anything is started.
    public func validate() throws(KumoError) {
        try SafeName.checkInterface(interface)
        guard subnet.prefixLength <= 30 else {
            throw KumoError(.invalid, "invalid DHCP subnet \(subnet): needs room for a gateway and hosts", field: "subnet")
        }
        guard (576...9000).contains(mtu) else { throw KumoError(.invalid, "invalid DHCP MTU \(mtu)", field: "mtu") }
        guard leaseSeconds >= 120 else {
            throw KumoError(.invalid, "invalid DHCP lease time \(leaseSeconds)s: dnsmasq's minimum is 120", field: "leaseSeconds")
        }
        if let why = Names.validateDNSSubdomain(dnsDomain) {
            throw KumoError(.invalid, "invalid DNS domain \"\(dnsDomain)\": \(why)", field: "dnsDomain")
        }
        guard directory.hasPrefix("/"), !directory.contains(","), !directory.contains("\n") else {
            throw KumoError(.invalid, "invalid dnsmasq directory \"\(directory)\": must be an absolute path", field: "directory")
        }
    }

    /// The program and its arguments (no shell). dnsmasq forks into the background once it is listening; a
    /// startup error makes the first process exit non-zero with the reason on stderr.
    public func argv(program: String = "dnsmasq") -> [String] {
        var argv = [
            program,
            "--conf-file=/dev/null",
            "--pid-file=\(pidFile)",
            "--bind-interfaces",
            "--interface=\(interface)",
            "--except-interface=lo",
            "--listen-address=\(gateway)",
            "--dhcp-range=\(subnet.address),static,\(netmask),\(leaseSeconds)",
            "--dhcp-hostsfile=\(hostsFile)",
            "--dhcp-leasefile=\(leaseFile)",
            "--dhcp-option=option:router,\(gateway)",
            "--dhcp-option-force=option:mtu,\(mtu)",
            "--log-dhcp",
            "--log-facility=\(logFile)",
            "--no-resolv",
            "--no-hosts",
            "--addn-hosts=\(addnHostsFile)",
        ]
        if dnsEnabled {
            argv += ["--local=/\(dnsDomain)/", "--domain-needed", "--dhcp-option=option:dns-server,\(gateway)"]
        } else {
            argv += ["--port=0"]
        }
        return argv
    }

    /// `--dhcp-hostsfile` content: one `MAC,name,IP` per line, sorted by MAC (a stable file for stable diffs).
    /// Two hosts with one MAC or one IP would make dnsmasq's answer arbitrary: the first (by MAC) wins and the
    /// rest are returned as rejected.
    public static func hostsFile(_ hosts: [DHCPHost]) -> (text: String, rejected: [DHCPHost]) {
        var seenMAC = Set<String>(), seenIP = Set<IPv4Address>()
        var lines: [String] = [], rejected: [DHCPHost] = []
        for host in hosts.sorted(by: { ($0.mac, $0.ip) < ($1.mac, $1.ip) }) {
            guard seenMAC.insert(host.mac).inserted, seenIP.insert(host.ip).inserted else {
                rejected.append(host)
                continue
            }
            lines.append(host.line)
        }
        return (lines.map { $0 + "\n" }.joined(), rejected)
    }

    /// The reservations of a hostsfile written earlier (an agent restart keeps them); bad lines are skipped.
    public static func parseHostsFile(_ text: String) -> [DHCPHost] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 3, let ip = IPv4Address(String(f[2])) else { return nil }
            return try? DHCPHost(mac: String(f[0]), name: String(f[1]), ip: ip)
        }
    }

    /// The records of an addn-hosts file written earlier.
    public static func parseAddnHostsFile(_ text: String) -> [DNSRecord] {
        text.split(separator: "\n").flatMap { line -> [DNSRecord] in
            let f = line.split(separator: " ")
            guard f.count >= 2, let ip = IPv4Address(String(f[0])) else { return [] }
            return f.dropFirst().compactMap { try? DNSRecord(name: String($0), ip: ip) }
        }
    }

    /// `--addn-hosts` content: `IP name…` per address, addresses and names sorted.
    public static func addnHostsFile(_ records: [DNSRecord]) -> String {
        var byIP: [IPv4Address: Set<String>] = [:]
        for r in records { byIP[r.ip, default: []].insert(r.name) }
        return byIP.keys.sorted().map { ip in ([ip.description] + byIP[ip]!.sorted()).joined(separator: " ") + "\n" }
            .joined()
    }
}
