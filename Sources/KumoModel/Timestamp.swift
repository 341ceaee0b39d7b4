#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time with millisecond precision (milliseconds since the Unix epoch, UTC): the one representation
/// of the RFC 3339 times objects carry (`createdAt`, history, events, leases, token expiry).
///
/// The reconcile cores never read a clock: the shell passes `now` in. Objects carry times as RFC 3339 strings
/// (`2026-11-26T16:12:46.391Z`, the server's format); `init?(rfc3339:)` and `rfc3339` convert without Foundation.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = secondsSinceEpoch * 1000
    }

    /// The wall clock now. Only shells call it; pure cores get `now` passed in.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    /// Saturating: a deadline a client's huge duration puts beyond Int64 is "never", not a trap.
    public static func + (t: Timestamp, d: Duration) -> Timestamp {
        let (sum, overflow) = t.millisecondsSinceEpoch.addingReportingOverflow(d.milliseconds)
        return Timestamp(millisecondsSinceEpoch: overflow ? (d.milliseconds < 0 ? .min : .max) : sum)
    }

    public static func - (t: Timestamp, d: Duration) -> Timestamp {
        let (difference, overflow) = t.millisecondsSinceEpoch.subtractingReportingOverflow(d.milliseconds)
        return Timestamp(millisecondsSinceEpoch: overflow ? (d.milliseconds < 0 ? .max : .min) : difference)
    }

    /// The time elapsed from `b` to `a` (negative when `a` is earlier).
    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .milliseconds(a.millisecondsSinceEpoch - b.millisecondsSinceEpoch)
    }

    public var description: String { rfc3339 }

    // MARK: RFC 3339

    /// UTC with milliseconds: `2026-11-26T16:12:46.391Z`.
    public var rfc3339: String {
        let ms = millisecondsSinceEpoch
        let days = ms >= 0 ? ms / 86_400_000 : -((-ms + 86_399_999) / 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = Self.civil(fromDays: days)
        let secondOfDay = msOfDay / 1000
        return "\(Self.pad(y, 4))-\(Self.pad(m, 2))-\(Self.pad(d, 2))T"
            + "\(Self.pad(secondOfDay / 3600, 2)):\(Self.pad(secondOfDay / 60 % 60, 2)):\(Self.pad(secondOfDay % 60, 2))"
            + ".\(Self.pad(msOfDay % 1000, 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`/`z` and a space separator accepted); fractions
    /// beyond milliseconds are truncated. Nil when malformed.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[k] - 0x30)
            }
            i += width
            return v
        }
        func expect(_ chars: String) -> Bool {
            guard i < b.count, chars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day), hour < 24,
            minute < 60, second < 61
        else { return nil }
        var millis: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 3 { millis = millis * 10 + Int64(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offsetMinutes: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(2), expect(":"), let om = number(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        self.init(millisecondsSinceEpoch: seconds * 1000 + millis)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension Duration {
    /// Whole milliseconds (truncated toward zero), saturating at Int64's bounds instead of trapping: durations
    /// come from clients' numbers too (a probe's `timeoutSeconds`, a rollout's deadline).
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow2 ? (ms < 0 ? .min : .max) : sum
    }

    /// The whole duration in seconds, fractions kept (`components.seconds` alone drops them; `attoseconds` alone
    /// drops the whole seconds). The one conversion for metrics, gauges and state dumps.
    package var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The whole duration in milliseconds, fractions kept.
    package var millisecondsValue: Double { secondsValue * 1000 }

    /// `6s`, `1.5s`, `120s`: for messages.
    package var shortDescription: String {
        let ms = milliseconds
        let sign = ms < 0 ? "-" : ""
        let magnitude = abs(ms)
        if magnitude % 1000 == 0 { return "\(sign)\(magnitude / 1000)s" }
        var fraction = Substring(Timestamp.pad(magnitude % 1000, 3))
        while fraction.last == "0" { fraction = fraction.dropLast() }
        return "\(sign)\(magnitude / 1000).\(fraction)s"
    }
}
