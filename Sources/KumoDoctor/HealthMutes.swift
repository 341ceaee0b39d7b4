import KumoModel

/// `kumo doctor mute CODE [--ttl 1h] [--sticky]`, as in Ceph: a mute hides a code from `status` until it expires;
/// a mute that is not sticky also ends when the code clears or its count grows.
public struct HealthMute: Codable, Sendable, Equatable {
    public var code: String
    /// RFC 3339; nil: until removed (sticky) or until it lapses.
    public var until: String?
    public var sticky: Bool
    /// The code's total count when it was muted (nil: the code was not failing; then only the ttl ends it).
    public var count: Int?
    public var createdAt: String
    public var createdBy: String?

    public init(code: String, until: String?, sticky: Bool, count: Int?, createdAt: String, createdBy: String? = nil) {
        self.code = code
        self.until = until
        self.sticky = sticky
        self.count = count
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

public enum HealthMutes {
    /// Marks muted findings, and names the mutes that lapsed (to be deleted): expired, or (not sticky) whose
    /// code cleared or whose count grew beyond the one muted.
    public static func apply(_ mutes: [HealthMute], to findings: inout [Finding], now: Timestamp) -> (active: [HealthMute], lapsed: [HealthMute]) {
        var totals: [String: Int] = [:]
        for f in findings { totals[f.code, default: 0] += max(f.count, 1) }
        var active: [HealthMute] = []
        var lapsed: [HealthMute] = []
        for m in mutes {
            if let until = m.until.flatMap({ Timestamp(rfc3339: $0) }), until <= now {
                lapsed.append(m)
                continue
            }
            if !m.sticky {
                let total = totals[m.code]
                if total == nil, m.count != nil {  // it cleared
                    lapsed.append(m)
                    continue
                }
                if let total, let muted = m.count, total > muted {  // it grew
                    lapsed.append(m)
                    continue
                }
            }
            active.append(m)
        }
        let mutedCodes = Set(active.map(\.code))
        for i in findings.indices where mutedCodes.contains(findings[i].code) { findings[i].muted = true }
        return (active, lapsed)
    }
}

/// Findings that appeared or cleared between two evaluations: the `HealthCheckFailed` and `HealthCheckCleared`
/// events (the cluster log of Ceph's "Health check failed / cleared").
public enum HealthTransitions {
    public static func diff(previous: [Finding], current: [Finding]) -> (failed: [Finding], cleared: [Finding]) {
        let before = Set(previous.map(\.key))
        let after = Set(current.map(\.key))
        return (current.filter { !before.contains($0.key) }, previous.filter { !after.contains($0.key) })
    }
}
