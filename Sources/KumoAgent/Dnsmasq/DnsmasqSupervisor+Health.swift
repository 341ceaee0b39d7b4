import Foundation
import KumoModel

extension DnsmasqSupervisor {
    /// What the node health report needs of dnsmasq, read in one step (the DNS query itself is the reporter's).
    struct HealthFacts: Sendable {
        var state: State
        var restarts: Int
        var lastError: String?
        var dnsEnabled: Bool
        var dnsDomain: String
        var gateway: IPv4Address
        /// A name dnsmasq serves (the first DNS record), if any.
        var someRecord: String?
        var hosts: Int
        var leases: Int
        var refusals: [DHCPRefusalWindow.Refusal]
        var refusalWindowSeconds: Double
    }

    func healthFacts(now: Date = Date()) -> HealthFacts {
        readLog()
        let leaseFile = (try? String(contentsOfFile: config.leaseFile, encoding: .utf8)).map(DHCPLeaseFileEntry.parse) ?? []
        return HealthFacts(
            state: state, restarts: restarts, lastError: lastError, dnsEnabled: config.dnsEnabled,
            dnsDomain: config.dnsDomain, gateway: config.gateway, someRecord: records.first?.name, hosts: hosts.count,
            leases: leaseFile.count(where: { $0.expires > now }), refusals: parser.recentRefusals(now: now), refusalWindowSeconds: parser.refusals.window)
    }
}
