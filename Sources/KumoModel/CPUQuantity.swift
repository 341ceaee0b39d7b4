/// An amount of CPU in millicores. Written `"500m"` (millicores), `"2"` / `"0.5"` / `"1.5"` (cores) or as a
/// JSON number of cores (`2`, `0.5`); encoded canonically as `"2"` for whole cores, else `"500m"`.
public struct CPUQuantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millicores: Int64

    public init(millicores: Int64) { self.millicores = millicores }

    public static func millicores(_ m: Int64) -> CPUQuantity { CPUQuantity(millicores: m) }
    public static func cores(_ c: Int64) -> CPUQuantity { CPUQuantity(millicores: c * 1000) }

    /// Parses `"500m"`, `"2"`, `"0.5"`, `"1.5"`. Negative, empty, sub-millicore and overflowing values fail.
    public init(parsing text: String) throws(KumoError) {
        func fail(_ why: String) -> KumoError {
            KumoError(.invalid, "invalid cpu quantity \"\(text)\": \(why)")
        }
        let expected = "expected millicores like 500m or cores like 2"
        if text.isEmpty { throw fail("must not be empty") }
        if text.hasPrefix("-") { throw fail("must not be negative") }
        if text.hasSuffix("m") {
            let digits = text.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(QuantityDecimal.isDigit) else { throw fail(expected) }
            guard let m = Int64(digits) else { throw fail("too large") }
            self.millicores = m
            return
        }
        guard let decimal = QuantityDecimal(text) else { throw fail(expected) }
        switch decimal.scaled(by: 1000) {
        case .exact(let m): self.millicores = m
        case .inexact: throw fail("finer than one millicore")
        case .overflow: throw fail("too large")
        }
    }

    /// A JSON number of cores (`2`, `0.5`).
    public init(cores: Double) throws(KumoError) {
        let text = formatQuantityNumber(cores)
        guard cores.isFinite else { throw KumoError(.invalid, "invalid cpu quantity \(text): must be finite") }
        guard cores >= 0 else { throw KumoError(.invalid, "invalid cpu quantity \(text): must not be negative") }
        let m = (cores * 1000).rounded()
        guard m < 9.2e18 else { throw KumoError(.invalid, "invalid cpu quantity \(text): too large") }
        guard abs(cores * 1000 - m) < 1e-6 else {
            throw KumoError(.invalid, "invalid cpu quantity \(text): finer than one millicore")
        }
        self.millicores = Int64(m)
    }

    /// Whole cores as `"2"`, otherwise millicores as `"500m"`.
    public var description: String {
        millicores % 1000 == 0 ? String(millicores / 1000) : "\(millicores)m"
    }

    public var cores: Double { Double(millicores) / 1000 }

    public static func < (a: CPUQuantity, b: CPUQuantity) -> Bool { a.millicores < b.millicores }
}

extension CPUQuantity: AdditiveArithmetic {
    public static var zero: CPUQuantity { CPUQuantity(millicores: 0) }
    public static func + (a: CPUQuantity, b: CPUQuantity) -> CPUQuantity {
        CPUQuantity(millicores: a.millicores + b.millicores)
    }
    public static func - (a: CPUQuantity, b: CPUQuantity) -> CPUQuantity {
        CPUQuantity(millicores: a.millicores - b.millicores)
    }
}

extension CPUQuantity: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        do {
            if let s = try? c.decode(String.self) {
                try self.init(parsing: s)
            } else if let n = try? c.decode(Double.self) {
                try self.init(cores: n)
            } else {
                throw DecodingError.typeMismatch(
                    CPUQuantity.self,
                    .init(codingPath: c.codingPath, debugDescription: "expected a cpu quantity like \"500m\" or 2"))
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
