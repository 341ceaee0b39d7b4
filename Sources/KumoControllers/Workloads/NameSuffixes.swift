/// Where replica name suffixes come from. Injected so reconciles are deterministic in tests; the reconciler
/// skips a suffix that would repeat an existing name.
public protocol NameSuffixSource {
    /// A new suffix of `NameSuffixes.length` characters from `NameSuffixes.alphabet`.
    mutating func next() -> String
}

/// Deterministic suffixes from a seed (SplitMix64), over Kubernetes' alphabet without vowels and look-alike
/// characters (no accidental words, no `0/o`, `1/l`). Seed it from something random in production.
public struct NameSuffixes: NameSuffixSource, Sendable, Equatable {
    public static let length = 5
    public static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789".utf8)

    public var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        var bits = nextRandom()
        for _ in 0..<Self.length {
            out.append(Self.alphabet[Int(bits % UInt64(Self.alphabet.count))])
            bits /= UInt64(Self.alphabet.count)
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func nextRandom() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
