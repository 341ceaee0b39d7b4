import Foundation

/// DHCP refusals dnsmasq logged (`DHCPNAK` lines, and any DHCP line saying `no address available`), counted per
/// (MAC, kind, reason) over a sliding window, with the last raw line and when it was seen — what `kumo doctor`
/// shows for "this VM gets no address". A pure value type fed by `DHCPLogParser`; bounded in keys and in the
/// timestamps kept per key.
public struct DHCPRefusalWindow: Sendable {
    public static let nakKind = "DHCPNAK"
    public static let noAddressKind = "no address available"

    public struct Key: Sendable, Hashable {
        public var mac: String
        public var kind: String
        public var reason: String?
    }

    /// One key's figures as reported.
    public struct Refusal: Sendable, Equatable {
        public var mac: String
        public var kind: String
        public var reason: String?
        public var count: Int
        public var lastLine: String
        public var lastTime: Date
    }

    struct Entry: Sendable {
        var times: [Date] = []
        var lastLine = ""
        var lastTime = Date.distantPast
    }

    public let window: TimeInterval
    let maxKeys: Int
    let maxTimesPerKey: Int
    private(set) var entries: [Key: Entry] = [:]

    public init(window: TimeInterval = 600, maxKeys: Int = 256, maxTimesPerKey: Int = 256) {
        self.window = window
        self.maxKeys = max(1, maxKeys)
        self.maxTimesPerKey = max(1, maxTimesPerKey)
    }

    /// The refusal a parsed line stands for (nil: not a refusal, or no MAC to file it under).
    public static func key(of event: DHCPLogParser.Event) -> Key? {
        guard let mac = event.mac else { return nil }
        if event.type == "NAK" { return Key(mac: mac, kind: nakKind, reason: event.detail.isEmpty ? nil : event.detail) }
        if event.detail.contains("no address available") { return Key(mac: mac, kind: noAddressKind, reason: nil) }
        return nil
    }

    /// Counts `event` if it is a refusal; `line` is kept as the key's last line.
    public mutating func record(_ event: DHCPLogParser.Event, line: some StringProtocol) {
        guard let key = Self.key(of: event) else { return }
        let time = event.observedAt
        var entry = entries[key] ?? Entry()
        entry.times.append(time)
        if entry.times.count > maxTimesPerKey { entry.times.removeFirst(entry.times.count - maxTimesPerKey) }
        entry.lastLine = line.trimmingCharacters(in: .whitespaces)
        entry.lastTime = time
        entries[key] = entry
        if entries.count > maxKeys {
            // the key refused longest ago goes first
            let victims = entries.sorted { $0.value.lastTime < $1.value.lastTime }.prefix(entries.count - maxKeys)
            for (key, _) in victims { entries[key] = nil }
        }
    }

    /// Drops what fell out of the window before `now`.
    public mutating func prune(now: Date) {
        let cutoff = now.addingTimeInterval(-window)
        for (key, var entry) in entries {
            entry.times.removeAll { $0 < cutoff }
            entries[key] = entry.times.isEmpty ? nil : entry
        }
    }

    /// Refusals within the window ending at `now`, the most frequent first (then by MAC, kind, reason).
    public func refusals(now: Date) -> [Refusal] {
        let cutoff = now.addingTimeInterval(-window)
        return entries.compactMap { key, entry -> Refusal? in
            let count = entry.times.count(where: { $0 >= cutoff })
            guard count > 0 else { return nil }
            return Refusal(mac: key.mac, kind: key.kind, reason: key.reason, count: count, lastLine: entry.lastLine, lastTime: entry.lastTime)
        }.sorted { ($1.count, $0.mac, $0.kind, $0.reason ?? "") < ($0.count, $1.mac, $1.kind, $1.reason ?? "") }
    }
}
