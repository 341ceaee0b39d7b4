import Foundation
import KumoModel

/// Turns dnsmasq's `--log-dhcp` lines into what dnsmasq itself does not keep: counters per DHCP message type,
/// the last ACK per MAC (the lease a guest was given, and when Kumo saw it), and recent events. A pure value
/// type fed line by line; the supervisor feeds it from the log file as it grows. Lines look like
/// `Nov 26 20:30:57 dnsmasq-dhcp[20984]: 3396756847 DHCPACK(kumo0) 10.250.1.5 02:6b:0a:fa:01:05 vm1`
/// (the transaction id is there with `--log-dhcp`); everything that is not a DHCP message line is ignored.
public struct DHCPLogParser: Sendable {
    /// The message types always reported (zero until seen); others (RELEASE, DECLINE, INFORM) are added when seen.
    public static let reportedTypes = ["DISCOVER", "OFFER", "REQUEST", "ACK", "NAK"]
    static let recentLimit = 100

    /// One DHCP message seen in the log.
    public struct Event: Sendable, Equatable {
        /// `DISCOVER`, `OFFER`, `REQUEST`, `ACK`, `NAK`, …
        public var type: String
        public var interface: String
        public var ip: IPv4Address?
        public var mac: String?
        /// Whatever follows (a host name after ACK, the reason after NAK).
        public var detail: String
        public var observedAt: Date
    }

    /// An address dnsmasq acknowledged.
    public struct Lease: Sendable, Equatable {
        public var mac: String
        public var ip: IPv4Address
        public var hostname: String?
        public var observedAt: Date
    }

    public private(set) var counters: [String: Int] = Dictionary(uniqueKeysWithValues: reportedTypes.map { ($0, 0) })
    /// The last ACK per MAC.
    public private(set) var leases: [String: Lease] = [:]
    /// The last NAK per MAC.
    public private(set) var lastNAK: [String: Event] = [:]
    /// The most recent events (bounded).
    public private(set) var recent: [Event] = []
    public private(set) var linesRead = 0
    /// NAKs and `no address available` per MAC over the last 10 minutes (`kumo doctor`).
    public private(set) var refusals = DHCPRefusalWindow()

    public init() {}

    /// Parses one message line, nil for anything else.
    public static func parse(_ line: some StringProtocol, at time: Date) -> Event? {
        guard let colon = line.range(of: "]: ") else { return nil }
        let tokens = line[colon.upperBound...].split(separator: " ", omittingEmptySubsequences: true)
        guard
            let index = tokens.firstIndex(where: { $0.hasPrefix("DHCP") && $0.contains("(") && $0.hasSuffix(")") })
        else { return nil }
        let token = tokens[index]
        let open = token.firstIndex(of: "(")!
        let type = String(token[token.index(token.startIndex, offsetBy: 4)..<open])
        guard !type.isEmpty, type.allSatisfy({ $0.isUppercase }) else { return nil }
        let interface = String(token[token.index(after: open)..<token.index(before: token.endIndex)])
        var ip: IPv4Address?
        var mac: String?
        var rest: [Substring] = []
        for t in tokens[(index + 1)...] {
            if ip == nil, mac == nil, let a = IPv4Address(String(t)) {
                ip = a
            } else if mac == nil, DHCPHost.isMAC(t.lowercased()) {
                mac = t.lowercased()
            } else {
                rest.append(Substring(t))
            }
        }
        return Event(type: type, interface: interface, ip: ip, mac: mac, detail: rest.joined(separator: " "), observedAt: time)
    }

    /// Feeds one log line.
    public mutating func consume(_ line: some StringProtocol, at time: Date = Date()) {
        linesRead += 1
        guard let event = Self.parse(line, at: time) else { return }
        counters[event.type, default: 0] += 1
        refusals.record(event, line: line)
        if let mac = event.mac {
            switch event.type {
            case "ACK":
                if let ip = event.ip {
                    leases[mac] = Lease(mac: mac, ip: ip, hostname: event.detail.isEmpty ? nil : event.detail, observedAt: time)
                }
            case "NAK": lastNAK[mac] = event
            case "RELEASE": leases[mac] = nil
            default: break
            }
        }
        recent.append(event)
        if recent.count > Self.recentLimit { recent.removeFirst(recent.count - Self.recentLimit) }
    }

    /// Refusals within the window ending at `now` (what fell out of it is dropped).
    public mutating func recentRefusals(now: Date = Date()) -> [DHCPRefusalWindow.Refusal] {
        refusals.prune(now: now)
        return refusals.refusals(now: now)
    }

    /// Feeds a chunk of text; returns the bytes of an unfinished last line (to be prefixed to the next chunk).
    public mutating func consume(chunk: [UInt8], at time: Date = Date()) -> [UInt8] {
        var start = 0
        for i in chunk.indices where chunk[i] == UInt8(ascii: "\n") {
            consume(String(decoding: chunk[start..<i], as: UTF8.self), at: time)
            start = i + 1
        }
        return Array(chunk[start...])
    }
}
