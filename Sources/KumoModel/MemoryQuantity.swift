/// An amount of memory or disk in bytes. Written `"1024"`, `"128Ki"`, `"256Mi"`, `"1Gi"` (binary suffixes
/// Ki Mi Gi Ti Pi), `"1k"`/`"1K"`, `"500M"`, `"1G"` (decimal suffixes k/K M G T P), `"1.5Gi"` when that is a
/// whole number of bytes, or as a JSON number of bytes. Encoded canonically with the largest binary suffix
/// that divides exactly (unless a decimal one gives a shorter form), else the largest decimal one, else plain
/// bytes: `"256Mi"`, `"1G"`, `"1T"`, `"1500"`.
public struct MemoryQuantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) { self.bytes = bytes }

    public static func bytes(_ n: Int64) -> MemoryQuantity { MemoryQuantity(bytes: n) }
    public static func kibibytes(_ n: Int64) -> MemoryQuantity { MemoryQuantity(bytes: n << 10) }
    public static func mebibytes(_ n: Int64) -> MemoryQuantity { MemoryQuantity(bytes: n << 20) }
    public static func gibibytes(_ n: Int64) -> MemoryQuantity { MemoryQuantity(bytes: n << 30) }

    static let binarySuffixes: [(String, Int64)] = [
        ("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10),
    ]
    static let decimalSuffixes: [(String, Int64)] = [
        ("P", 1_000_000_000_000_000), ("T", 1_000_000_000_000), ("G", 1_000_000_000), ("M", 1_000_000),
        ("k", 1000),
    ]

    /// Parses `"256Mi"`, `"1G"`, `"1024"`, `"1.5Gi"`. Negative, empty, fractional-byte and overflowing
    /// values fail with a message naming the problem.
    public init(parsing text: String) throws(KumoError) {
        func fail(_ why: String) -> KumoError {
            KumoError(.invalid, "invalid memory quantity \"\(text)\": \(why)")
        }
        if text.isEmpty { throw fail("must not be empty") }
        if text.hasPrefix("-") { throw fail("must not be negative") }
        var number = Substring(text)
        var multiplier: Int64 = 1
        if text.hasSuffix("i") {
            let suffix = String(text.suffix(2))
            guard let m = Self.binarySuffixes.first(where: { $0.0 == suffix })?.1 else {
                throw fail(Self.expected)
            }
            multiplier = m
            number = number.dropLast(2)
        } else if let last = text.last, !QuantityDecimal.isDigit(last) {
            let suffix = last == "K" ? "k" : String(last)
            guard let m = Self.decimalSuffixes.first(where: { $0.0 == suffix })?.1 else {
                throw fail(Self.expected)
            }
            multiplier = m
            number = number.dropLast()
        }
        guard let decimal = QuantityDecimal(String(number)) else { throw fail(Self.expected) }
        switch decimal.scaled(by: multiplier) {
        case .exact(let b): self.bytes = b
        case .inexact: throw fail("not a whole number of bytes")
        case .overflow: throw fail("too large")
        }
    }

    static let expected = "expected bytes like 1024 or a quantity like 256Mi, 1Gi, 500M"

    /// A JSON number of bytes.
    public init(number: Double) throws(KumoError) {
        let text = formatQuantityNumber(number)
        guard number.isFinite, number.rounded() == number else {
            throw KumoError(.invalid, "invalid memory quantity \(text): not a whole number of bytes")
        }
        guard number >= 0 else { throw KumoError(.invalid, "invalid memory quantity \(text): must not be negative") }
        guard number < 9.2e18 else { throw KumoError(.invalid, "invalid memory quantity \(text): too large") }
        self.bytes = Int64(number)
    }

    /// The canonical form: `"256Mi"`, `"1G"`, `"1500"`. The largest binary suffix that divides exactly, unless
    /// the largest decimal one that does is shorter (`"1T"`, not `"976562500Ki"`); else plain bytes.
    public var description: String {
        guard bytes != 0 else { return "0" }
        let binary = Self.binarySuffixes.first { bytes % $0.1 == 0 }.map { "\(bytes / $0.1)\($0.0)" }
        let decimal = Self.decimalSuffixes.first { bytes % $0.1 == 0 }.map { "\(bytes / $0.1)\($0.0)" }
        switch (binary, decimal) {
        case (let b?, let d?): return d.utf8.count < b.utf8.count ? d : b
        case (let b?, nil): return b
        case (nil, let d?): return d
        case (nil, nil): return String(bytes)
        }
    }

    public static func < (a: MemoryQuantity, b: MemoryQuantity) -> Bool { a.bytes < b.bytes }
}

extension MemoryQuantity: AdditiveArithmetic {
    public static var zero: MemoryQuantity { MemoryQuantity(bytes: 0) }
    public static func + (a: MemoryQuantity, b: MemoryQuantity) -> MemoryQuantity {
        MemoryQuantity(bytes: a.bytes + b.bytes)
    }
    public static func - (a: MemoryQuantity, b: MemoryQuantity) -> MemoryQuantity {
        MemoryQuantity(bytes: a.bytes - b.bytes)
    }
}

extension MemoryQuantity: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        do {
            if let s = try? c.decode(String.self) {
                try self.init(parsing: s)
            } else if let n = try? c.decode(Double.self) {
                try self.init(number: n)
            } else {
                throw DecodingError.typeMismatch(
                    MemoryQuantity.self,
                    .init(
                        codingPath: c.codingPath, debugDescription: "expected a memory quantity like \"256Mi\" or 1024")
                )
            }
        } catch let e as KumoError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
