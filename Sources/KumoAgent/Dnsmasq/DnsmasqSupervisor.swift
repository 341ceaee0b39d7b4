import Foundation
import KumoModel
import KumoSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Starts and keeps one dnsmasq running on the node bridge, inside the node's network namespace (the agent's own;
/// tests pass `hostNetns` and it is entered with `nsenter --net=`). It owns dnsmasq's data files: the DHCP
/// hostsfile (`MAC,name,IP`) and the DNS hosts file (`IP name…`), written atomically (0644, readable by `nobody`,
/// whom dnsmasq runs as) followed by SIGHUP — no restart. It restarts a dnsmasq that died, with exponential
/// backoff; keeps its `--log-dhcp` log below a size (rename, new file, SIGUSR2 so dnsmasq reopens it); and reads
/// that log as it grows into DHCP counters and leases (`DHCPLogParser`), which dnsmasq does not keep itself.
///
/// dnsmasq daemonises; the supervisor follows it through its pid file. A running dnsmasq started with the same
/// arguments is adopted at `start()` (an agent restart does not interrupt DHCP or DNS); `stop()` (agent reset)
/// kills it. An agent that shuts down leaves it running, like its containers and VMs.
public actor DnsmasqSupervisor {
    public enum State: Sendable, Equatable {
        case stopped
        case running(pid: Int32, since: Date)
        /// Died or failed to start; the next attempt is at `retryAt`.
        case backingOff(failures: Int, retryAt: Date, error: String)
    }

    public private(set) var config: DnsmasqConfig
    public private(set) var state: State = .stopped
    let hostNetns: String?
    let logMaxBytes: Int64
    let pollInterval: Duration
    let command: Command
    let logger: Logger

    var hosts: [String: DHCPHost] = [:]
    var records: [DNSRecord] = []
    var rejectedHosts: [DHCPHost] = []
    var parser = DHCPLogParser()
    var log = DnsmasqLogTail()
    var restarts = 0
    var rotations = 0
    var reloads = 0
    var failures = 0
    var lastError: String?

    public init(
        config: DnsmasqConfig, hostNetns: String? = nil, logMaxBytes: Int64 = 1 << 20,
        pollInterval: Duration = .milliseconds(100), command: Command = Command(), logger: Logger
    ) throws(KumoError) {
        try config.validate()
        guard logMaxBytes >= 4096 else { throw KumoError(.invalid, "dnsmasq log size limit must be at least 4096 bytes") }
        self.config = config
        self.hostNetns = hostNetns
        self.logMaxBytes = logMaxBytes
        self.pollInterval = pollInterval
        self.command = command
        self.logger = logger
    }

    // MARK: - lifecycle

    /// Prepares the directory and files, then adopts a running dnsmasq with the same arguments or starts one.
    /// Throws when dnsmasq is missing or refuses to start (the reason is its stderr).
    public func start() async throws(KumoError) {
        guard programExists("dnsmasq") else {
            throw KumoError(.unavailable, "dnsmasq is not installed (apt-get install dnsmasq-base): the agent serves DHCP with it")
        }
        try prepareDirectory()
        // an agent restart: keep what the previous agent reserved until its owners say otherwise
        if hosts.isEmpty, let text = try? String(contentsOfFile: config.hostsFile, encoding: .utf8) {
            hosts = Dictionary(DnsmasqConfig.parseHostsFile(text).map { ($0.mac, $0) }, uniquingKeysWith: { a, _ in a })
        }
        if records.isEmpty, let text = try? String(contentsOfFile: config.addnHostsFile, encoding: .utf8) {
            records = DnsmasqConfig.parseAddnHostsFile(text)
        }
        try writeHostsFile()
        try writeAddnHostsFile()
        if let pid = Self.runningPid(pidFile: config.pidFile) {
            if Self.commandLine(of: pid) == argv() {
                state = .running(pid: pid, since: Date())
                log.open(path: config.logFile, fromStart: true)
                logger.info("adopted running dnsmasq", metadata: ["pid": "\(pid)"])
                return
            }
            logger.info("replacing a dnsmasq started with other arguments", metadata: ["pid": "\(pid)"])
            await Self.kill(pid: pid)
        }
        try await spawn()
    }

    /// `start()`, but a failure only logs and schedules a retry (the node keeps running containers without DHCP).
    public func startSupervised() async {
        do {
            try await start()
        } catch {
            failures += 1
            lastError = error.message
            state = .backingOff(failures: failures, retryAt: Date().addingTimeInterval(backoff(failures)), error: error.message)
            logger.error("dnsmasq failed to start; retrying", metadata: ["error": "\(error.message)"])
        }
    }

    /// Supervises until cancelled: restarts dnsmasq when it died (after the backoff), reads its log, rotates it.
    public func run() async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// One supervision step (also called by tests to make progress deterministically).
    public func tick() async {
        readLog()
        switch state {
        case .stopped:
            return
        case .running(let pid, let since):
            if Self.isAlive(pid: pid, pidFile: config.pidFile) {
                rotateLogIfNeeded(pid: pid)
                if Date().timeIntervalSince(since) > 60 { failures = 0 }
                return
            }
            failures += 1
            let error = "dnsmasq (pid \(pid)) exited"
            logger.warning("dnsmasq died; restarting after backoff", metadata: ["pid": "\(pid)", "failures": "\(failures)"])
            state = .backingOff(failures: failures, retryAt: Date().addingTimeInterval(backoff(failures)), error: error)
            lastError = error
        case .backingOff(_, let retryAt, _):
            guard Date() >= retryAt else { return }
            do {
                try await spawn()
                restarts += 1
            } catch {
                failures += 1
                lastError = error.message
                state = .backingOff(failures: failures, retryAt: Date().addingTimeInterval(backoff(failures)), error: error.message)
                logger.error("dnsmasq failed to start", metadata: ["error": "\(error.message)", "failures": "\(failures)"])
            }
        }
    }

    /// Kills dnsmasq (agent reset, tests). Its files stay; `removeFiles` deletes them.
    public func stop() async {
        if case .running(let pid, _) = state { await Self.kill(pid: pid) }
        if let pid = Self.runningPid(pidFile: config.pidFile) { await Self.kill(pid: pid) }
        readLog()
        state = .stopped
    }

    /// Turns DNS serving on or off (a restart: dnsmasq cannot open or close its DNS port on SIGHUP).
    public func setDNSEnabled(_ enabled: Bool) async throws(KumoError) {
        guard enabled != config.dnsEnabled else { return }
        config.dnsEnabled = enabled
        guard state != .stopped else { return }
        if case .running(let pid, _) = state { await Self.kill(pid: pid) }
        try await spawn()
    }

    /// Backoff before restart attempt `n`: 0.5 s doubling to 30 s.
    func backoff(_ n: Int) -> TimeInterval { min(30, 0.5 * pow(2, Double(max(0, n - 1)))) }

    func argv() -> [String] { config.argv() }

    func spawn() async throws(KumoError) {
        var argv = argv()
        if let hostNetns { argv = ["nsenter", "--net=/run/netns/\(hostNetns)"] + argv }
        try? FileManager.default.removeItem(atPath: config.pidFile)
        ensureLogFile()
        let result = try await command.run(argv)
        guard result.succeeded else {
            let detail = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw KumoError(.internal, "failed to start dnsmasq on \(config.interface): \(detail.isEmpty ? "exit \(result.status)" : detail)")
        }
        var pid: Int32?
        for _ in 0..<50 {
            pid = Self.runningPid(pidFile: config.pidFile)
            if pid != nil { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard let pid else { throw KumoError(.internal, "failed to start dnsmasq: it wrote no pid file \(config.pidFile)") }
        state = .running(pid: pid, since: Date())
        if !log.isOpen { log.open(path: config.logFile, fromStart: false) }
        logger.info(
            "dnsmasq started",
            metadata: ["pid": "\(pid)", "interface": "\(config.interface)", "dns": "\(config.dnsEnabled)"])
    }

    // MARK: - data

    /// Replaces every DHCP reservation (file rewritten atomically, then SIGHUP).
    public func setDHCPHosts(_ hosts: [DHCPHost]) throws(KumoError) {
        self.hosts = Dictionary(hosts.map { ($0.mac, $0) }, uniquingKeysWith: { _, last in last })
        try writeHostsFile()
        reload()
    }

    /// Adds or replaces the reservation for `host.mac`.
    public func setHost(_ host: DHCPHost) throws(KumoError) {
        guard hosts[host.mac] != host else { return }
        hosts[host.mac] = host
        try writeHostsFile()
        reload()
    }

    /// Removes the reservation for `mac` (no-op when absent).
    public func removeHost(mac: String) throws(KumoError) {
        guard hosts.removeValue(forKey: mac.lowercased()) != nil else { return }
        try writeHostsFile()
        reload()
    }

    /// Replaces every DNS record (file rewritten atomically, then SIGHUP).
    public func setDNSRecords(_ records: [DNSRecord]) throws(KumoError) {
        self.records = records
        try writeAddnHostsFile()
        reload()
    }

    public var dhcpHosts: [DHCPHost] { hosts.values.sorted { $0.mac < $1.mac } }
    public var dnsRecords: [DNSRecord] { records }

    /// SIGHUP: dnsmasq re-reads the hostsfile and the addn-hosts file.
    func reload() {
        guard case .running(let pid, _) = state else { return }
        Glibc.kill(pid, SIGHUP)
        reloads += 1
    }

    // MARK: - observations

    /// DHCP messages seen in the log, by type (DISCOVER, OFFER, REQUEST, ACK, NAK, …).
    public func counters() -> [String: Int] {
        readLog()
        return parser.counters
    }

    /// The last ACK for `mac` seen in the log.
    public func lease(mac: String) -> DHCPLogParser.Lease? {
        readLog()
        return parser.leases[mac.lowercased()]
    }

    public func lastNAK(mac: String) -> DHCPLogParser.Event? {
        readLog()
        return parser.lastNAK[mac.lowercased()]
    }

    /// Waits (polling the log) until an ACK for `mac` — and for `ip` when given — observed after `after`;
    /// nil on timeout or cancellation.
    public func waitForLease(mac: String, ip: IPv4Address? = nil, after: Date, timeout: Duration) async
        -> DHCPLogParser.Lease?
    {
        let deadline = ContinuousClock.now + timeout
        let key = mac.lowercased()
        while ContinuousClock.now < deadline, !Task.isCancelled {
            readLog()
            if let l = parser.leases[key], l.observedAt >= after, ip == nil || l.ip == ip { return l }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    public var isRunning: Bool { if case .running = state { true } else { false } }
    public var pid: Int32? { if case .running(let pid, _) = state { pid } else { nil } }

    /// Figures for the agent's /metrics.
    public func metricsSnapshot() -> DnsmasqMetricsSnapshot {
        readLog()
        return DnsmasqMetricsSnapshot(
            messages: parser.counters, leases: parser.leases.count, hosts: hosts.count, records: records.count,
            restarts: restarts, rotations: rotations, running: isRunning)
    }
}
