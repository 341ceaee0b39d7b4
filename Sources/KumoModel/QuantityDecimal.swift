/// Exact decimal arithmetic shared by `CPUQuantity` and `MemoryQuantity` parsing.

/// A non-negative decimal written `123`, `1.5` or `0.25` (no sign, no exponent), kept exactly.
struct QuantityDecimal {
    var integer: Int64
    /// Fraction digits without trailing zeros (`"25"` for `0.250`).
    var fraction: Substring

    enum Scaled {
        case exact(Int64)
        case inexact, overflow
    }

    static func isDigit(_ c: Character) -> Bool { c >= "0" && c <= "9" }

    init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let intPart = parts[0]
        guard !intPart.isEmpty, intPart.allSatisfy(Self.isDigit) else { return nil }
        var frac: Substring = ""
        if parts.count == 2 {
            frac = parts[1]
            guard !frac.isEmpty, frac.allSatisfy(Self.isDigit) else { return nil }
            while frac.last == "0" { frac = frac.dropLast() }
        }
        // Leading zeros are harmless; an integer part too large for Int64 is an overflow, not garbage.
        let trimmed = intPart.drop(while: { $0 == "0" })
        if trimmed.count > 19 {
            integer = .max
        } else {
            integer = Int64(trimmed.isEmpty ? "0" : trimmed) ?? .max
        }
        fraction = frac
    }

    /// `self × multiplier` as an integer, if it is one.
    func scaled(by multiplier: Int64) -> Scaled {
        if integer == .max { return .overflow }
        let (whole, o1) = integer.multipliedReportingOverflow(by: multiplier)
        if o1 { return .overflow }
        if fraction.isEmpty { return .exact(whole) }
        if fraction.count > 18 { return .inexact }
        var pow10: Int64 = 1
        for _ in 0..<fraction.count { pow10 *= 10 }
        guard let f = Int64(fraction) else { return .inexact }
        let (num, o2) = f.multipliedReportingOverflow(by: multiplier)
        if o2 { return .overflow }
        guard num % pow10 == 0 else { return .inexact }
        let (total, o3) = whole.addingReportingOverflow(num / pow10)
        return o3 ? .overflow : .exact(total)
    }
}

/// `2`, `0.5`, `1e+30` for messages.
func formatQuantityNumber(_ n: Double) -> String {
    if n.isFinite, n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
    return String(n)
}
