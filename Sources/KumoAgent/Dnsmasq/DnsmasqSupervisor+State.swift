import Foundation
import KumoModel

extension DnsmasqSupervisor {
    /// `kumo state dhcp/<node>` and the agent's /debug/state: the process, its files, the reservations, leases
    /// (from the lease file and from the log), counters and recent DHCP messages.
    public func stateDump() -> JSONValue {
        readLog()
        let process: JSONValue
        switch state {
        case .stopped: process = ["state": "stopped"]
        case .running(let pid, let since):
            process = ["state": "running", "pid": .number(Double(pid)), "since": .string(Self.time(since))]
        case .backingOff(let failures, let retryAt, let error):
            process = [
                "state": "backingOff", "failures": .number(Double(failures)),
                "retryAt": .string(Self.time(retryAt)), "error": .string(error),
            ]
        }
        let leaseFile = (try? String(contentsOfFile: config.leaseFile, encoding: .utf8)).map(DHCPLeaseFileEntry.parse) ?? []
        let counters = parser.counters.keys.sorted().map { ($0, JSONValue.number(Double(parser.counters[$0]!))) }
        return [
            "process": process,
            "interface": .string(config.interface),
            "subnet": .string(config.subnet.description),
            "gateway": .string(config.gateway.description),
            "dns": config.dnsEnabled ? .string("on (\(config.dnsDomain) on \(config.gateway):53)") : "off",
            "directory": .string(config.directory),
            "argv": .array(config.argv().map { .string($0) }),
            "restarts": .number(Double(restarts)),
            "reloads": .number(Double(reloads)),
            "logRotations": .number(Double(rotations)),
            "lastError": lastError.map { .string($0) } ?? .null,
            "counters": .object(Dictionary(uniqueKeysWithValues: counters)),
            "hosts": .array(dhcpHosts.map { ["mac": .string($0.mac), "name": .string($0.name), "ip": .string($0.ip.description)] }),
            "rejectedHosts": .array(rejectedHosts.map { .string($0.line) }),
            "dnsRecords": .array(records.map { ["name": .string($0.name), "ip": .string($0.ip.description)] }),
            "leases": .array(leaseFile.map { l in
                [
                    "mac": .string(l.mac), "ip": .string(l.ip.description), "hostname": l.hostname.map { .string($0) } ?? .null,
                    "expires": .string(Self.time(l.expires)),
                ]
            }),
            "acksSeen": .array(parser.leases.values.sorted { $0.mac < $1.mac }.map { l in
                [
                    "mac": .string(l.mac), "ip": .string(l.ip.description), "hostname": l.hostname.map { .string($0) } ?? .null,
                    "observedAt": .string(Self.time(l.observedAt)),
                ]
            }),
            "recentMessages": .array(parser.recent.suffix(30).map { e in
                var o: [String: JSONValue] = ["type": .string(e.type), "at": .string(Self.time(e.observedAt))]
                if let ip = e.ip { o["ip"] = .string(ip.description) }
                if let mac = e.mac { o["mac"] = .string(mac) }
                if !e.detail.isEmpty { o["detail"] = .string(e.detail) }
                return .object(o)
            }),
        ]
    }
}

extension DnsmasqSupervisor {
    static func time(_ date: Date) -> String {
        Timestamp(millisecondsSinceEpoch: Int64((date.timeIntervalSince1970 * 1000).rounded())).rfc3339
    }
}
