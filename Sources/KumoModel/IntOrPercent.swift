/// An absolute count or a percentage of a total: `3` or `"25%"` (rollout `maxSurge` / `maxUnavailable`).
public struct IntOrPercent: Sendable, Hashable, CustomStringConvertible {
    /// The count, or the percentage when `isPercent`.
    public var value: Int
    public var isPercent: Bool

    public init(value: Int, isPercent: Bool) {
        self.value = value
        self.isPercent = isPercent
    }

    public static func int(_ n: Int) -> IntOrPercent { IntOrPercent(value: n, isPercent: false) }
    public static func percent(_ p: Int) -> IntOrPercent { IntOrPercent(value: p, isPercent: true) }

    /// Parses `"25%"` or `"3"`.
    public init(parsing text: String) throws(KumoError) {
        let digits = text.hasSuffix("%") ? text.dropLast() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy(QuantityDecimal.isDigit), let n = Int(digits), n <= 1_000_000
        else {
            throw KumoError(
                .invalid, "invalid value \"\(text)\": expected a non-negative integer or a percentage like 25%")
        }
        self.init(value: n, isPercent: text.hasSuffix("%"))
    }

    /// The absolute count for `total`: a percentage rounds up (`roundUp`, maxSurge) or down (maxUnavailable).
    public func resolve(total: Int, roundUp: Bool) -> Int {
        guard isPercent else { return value }
        let product = total * value
        return roundUp ? (product + 99) / 100 : product / 100
    }

    public var description: String { isPercent ? "\(value)%" : String(value) }
}

extension IntOrPercent: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            guard s.hasSuffix("%") else {
                throw DecodingError.dataCorruptedError(
                    in: c,
                    debugDescription: "invalid value \"\(s)\": expected an integer like 3 or a percentage like 25%")
            }
            do {
                try self.init(parsing: s)
            } catch {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: error.message)
            }
        } else if let n = try? c.decode(Int.self) {
            guard n >= 0 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "must not be negative")
            }
            self = .int(n)
        } else {
            throw DecodingError.typeMismatch(
                IntOrPercent.self,
                .init(
                    codingPath: c.codingPath,
                    debugDescription: "expected an integer like 3 or a percentage like \"25%\""))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if isPercent { try c.encode(description) } else { try c.encode(value) }
    }
}
