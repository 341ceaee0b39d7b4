import Foundation
import KumoDoctor
import KumoModel
import KumoSystem
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The measurements, run concurrently, each bounded by its own deadline.
extension HealthReporter {
    static let maxLogLines = 20

    func measure() async -> NodeHealthReport {
        async let dnsmasq = dnsmasqHealth()
        async let haproxy = sources.loadBalancer.haproxyHealth()
        async let peers = peerProbes()
        async let host = hostFacts()
        let (dnsHealth, dhcp) = await dnsmasq
        var report = NodeHealthReport(node: settings.node, time: Timestamp.now().rfc3339)
        report.dnsmasq = dnsHealth
        report.dhcp = dhcp
        report.haproxy = await haproxy
        report.loadBalancer = sources.loadBalancer.backendHealth()
        report.overlay = overlayFacts()
        report.peers = await peers
        report.host = await host
        report.certificateNotAfter = Self.certificateNotAfter(path: settings.certificatePath)
        let lines = lastLogLines()
        report.lastLogLines = lines.isEmpty ? nil : lines
        // stamped when it is done, just before it is sent: the server reads the difference as clock skew
        report.time = Timestamp.now().rfc3339
        return report
    }

    // MARK: dnsmasq

    /// Running: the supervisor's pid alive in /proc (a zombie is dead). Answering: a DNS query to the gateway
    /// (from the node's namespace) answered within a second; with DNS off, the process alive and not stopped.
    func dnsmasqHealth() async -> (DaemonHealth, DHCPFacts) {
        let facts = await sources.dnsmasq.healthFacts()
        let dhcp = DHCPFacts(
            hosts: facts.hosts, leases: facts.leases,
            refusals: facts.refusals.map {
                DHCPRefusal(
                    mac: $0.mac, kind: $0.kind, reason: $0.reason, count: $0.count, lastLine: $0.lastLine,
                    lastTime: DnsmasqSupervisor.time($0.lastTime))
            },
            windowSeconds: facts.refusalWindowSeconds)
        var pid: Int32?
        if case .running(let p, _) = facts.state { pid = p }
        let stat = pid.flatMap { ProcessStat.read($0) }
        let running = stat.map { !$0.exited } ?? false
        let stopped = stat?.state == "T" || stat?.state == "t"
        var health = DaemonHealth(running: running, pid: pid.map(Int.init), answering: false)
        health.restarts = facts.restarts
        guard running else {
            if case .backingOff(_, _, let error) = facts.state {
                health.error = error
            } else {
                health.error = pid == nil ? "dnsmasq is not running" : "dnsmasq (pid \(pid!)) is gone"
            }
            if let last = facts.lastError, last != health.error { health.lastReloadError = last }
            return (health, dhcp)
        }
        guard facts.dnsEnabled else {
            health.answering = !stopped
            health.error = "service DNS is off (--port=0): answering judged from the process state, not a query"
                + (stopped ? "; the process is stopped (state T)" : "")
            return (health, dhcp)
        }
        let name = facts.someRecord ?? "kumo-health.\(facts.dnsDomain)"
        switch await DNSProbe.ask(server: facts.gateway.description, name: name, timeout: .seconds(1), netns: settings.hostNetns) {
        case .success(let answer):
            health.answering = true
            if answer.rcode != 0 && answer.rcode != 3 { health.error = "answered \(name) with \(answer.rcodeName)" }
        case .failure(let why):
            health.error = why.message + (stopped ? " (the process is stopped: state T)" : "")
        }
        return (health, dhcp)
    }

    // MARK: peers and overlay

    func peerProbes() async -> [PeerProbe] {
        let all = sources.overlay.healthFacts().peers.map { PingProbe.Target(node: $0.node, address: $0.publicIP.description) }
        let targets = peerSample.withLock { $0.choose(all) }
        guard !targets.isEmpty else { return [] }
        let outcomes = await PingProbe.probeAll(
            targets, fullSize: settings.overlayMTU + PingProbe.vxlanOverhead, hostNetns: settings.hostNetns)
        peerSample.withLock { $0.record(outcomes) }
        return outcomes.map {
            PeerProbe(
                node: $0.node, address: $0.address, reachable: $0.reachable, fullSizeReachable: $0.fullSizeReachable,
                probeBytes: $0.probeBytes, rttMs: $0.rttMs, error: $0.error)
        }
    }

    func overlayFacts() -> OverlayFacts {
        let f = sources.overlay.healthFacts()
        return OverlayFacts(
            peersExpected: f.peers.count, peersProgrammed: f.programmedPeers, peersDataMissing: f.dataMissing,
            missingEntries: f.missingEntries)
    }

    // MARK: host

    func hostFacts() async -> HostFacts {
        let accel = sources.accel
        let (mode, result, detail) = (accel.mode, await accel.result, await accel.detail)
        var facts = HostFacts()
        switch mode {
        case .auto: facts.kvm = result.map { $0 == .kvm }
        case .kvm: facts.kvm = true
        case .tcg: facts.kvm = false
        }
        facts.kvmReason = detail
        facts.diskPath = settings.dataDir
        var fs = statvfs()
        if statvfs(settings.dataDir, &fs) == 0 {
            facts.diskFreeBytes = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            facts.diskTotalBytes = Int64(fs.f_blocks) * Int64(fs.f_frsize)
        }
        return facts
    }

    /// The notAfter of the first certificate in `path` (the agent's own, issued at join); nil without one.
    static func certificateNotAfter(path: String) -> String? {
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8),
            let cert = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)).first
        else { return nil }
        return Timestamp(secondsSinceEpoch: Int64(cert.notValidAfter)).rfc3339
    }

    // MARK: replicas

    /// `project/name` → the last non-empty line of the container log, for replicas waiting to restart after an
    /// exit (at most `maxLogLines`).
    func lastLogLines() -> [String: String] {
        let waiting = sources.replicas.all.filter { if case .backingOff = $0.state { true } else { false } }
            .sorted { ($0.project, $0.name) < ($1.project, $1.name) }
            .prefix(Self.maxLogLines)
        var out: [String: String] = [:]
        for runner in waiting {
            let id = runner.plan.withLock { $0?.id } ?? runner.uid
            if let line = LastLogLine.read(path: runner.context.driver.logPath(id)) { out["\(runner.project)/\(runner.name)"] = line }
        }
        return out
    }
}
