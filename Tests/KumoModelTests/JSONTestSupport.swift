import KumoModel

/// Parses a JSON literal in a test (the literal is known to be valid).
func parsedJSON(_ text: String) -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        fatalError("test JSON does not parse: \(error)\n\(text)")
    }
}

/// Random JSON values that exercise escaping, unicode, number forms and nesting.
struct RandomJSON {
    /// SplitMix64: a small seeded generator so random tests are reproducible.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    var rng: Generator
    /// When false, object members are never `null` (merge patches cannot express them).
    var nullMembers = true

    init(seed: UInt64, nullMembers: Bool = true) {
        rng = Generator(seed: seed)
        self.nullMembers = nullMembers
    }

    static let keyPool = ["a", "b", "c", "name", "spec", "a/b", "~", "~1", "", "é", "e\u{301}", "日本", "x y", "0", "-"]
    static let stringPool = [
        "", "x", "hello world", "quote \" backslash \\ slash /", "line\nbreak\ttab\r", "\u{0}\u{1}\u{1F}\u{7F}",
        "é", "e\u{301}", "日本語", "😀 emoji", "\u{2028}\u{2029}", "~0~1", "true", "null", "12",
    ]

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &rng) }

    mutating func number() -> Double {
        switch int(0..<8) {
        case 0: return Double(int(-10..<10))
        case 1: return Double(int(-1_000_000_000..<1_000_000_000))
        case 2: return Double(int(-1000..<1000)) / 8
        case 3: return Double.random(in: -1e6..<1e6, using: &rng)
        case 4:
            return [
                0.1, 1e-7, 1e21, .leastNonzeroMagnitude, 1.7976931348623157e308, 9_007_199_254_740_992,
                9_007_199_254_740_994, -0.0,
            ][int(0..<8)]
        case 5:
            // Any finite double, from random bits.
            while true {
                let d = Double(bitPattern: rng.next())
                if d.isFinite { return d }
            }
        default: return Double(int(0..<100_000))
        }
    }

    mutating func string() -> String {
        if int(0..<4) == 0 {
            var s = ""
            for _ in 0..<int(0..<8) {
                let ranges: [ClosedRange<UInt32>] = [
                    0x20...0x7E, 0x0...0x1F, 0xA0...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF,
                ]
                let r = ranges[int(0..<ranges.count)]
                s.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: r, using: &rng))!)
            }
            return s
        }
        return RandomJSON.stringPool[int(0..<RandomJSON.stringPool.count)]
    }

    mutating func key() -> String {
        int(0..<6) == 0 ? string() : RandomJSON.keyPool[int(0..<RandomJSON.keyPool.count)]
    }

    mutating func scalar(allowNull: Bool = true) -> JSONValue {
        switch int(allowNull ? 0..<4 : 1..<4) {
        case 0: return .null
        case 1: return .bool(int(0..<2) == 0)
        case 2: return .number(number())
        default: return .string(string())
        }
    }

    mutating func value(depth: Int = 4, allowNull: Bool = true) -> JSONValue {
        // Deep levels are mostly containers, so values have some size; leaves are mostly scalars.
        let kind = depth <= 0 ? 0 : depth >= 3 ? int(3..<5) : int(0..<5)
        switch kind {
        case 3:
            return .array((0..<int(0..<5)).map { _ in value(depth: depth - 1) })
        case 4:
            var o: [String: JSONValue] = [:]
            for _ in 0..<int(0..<6) { o[key()] = value(depth: depth - 1, allowNull: nullMembers) }
            return .object(o)
        default:
            return scalar(allowNull: allowNull)
        }
    }

    /// A changed copy of `v`: some members replaced, removed, added; some arrays edited; some types changed.
    mutating func mutate(_ v: JSONValue, depth: Int = 4) -> JSONValue {
        switch int(0..<10) {
        case 0: return value(depth: 2, allowNull: true)
        case 1, 2: return v
        default: break
        }
        switch v {
        case .object(var o):
            for k in Array(o.keys) {
                switch int(0..<6) {
                case 0: o.removeValue(forKey: k)
                case 1, 2: o[k] = mutate(o[k]!, depth: depth - 1)
                default: break
                }
                if !nullMembers, o[k] == .null { o[k] = .number(1) }
            }
            for _ in 0..<int(0..<3) { o[key()] = value(depth: 2, allowNull: nullMembers) }
            return .object(o)
        case .array(var a):
            if !a.isEmpty, int(0..<2) == 0 { a.remove(at: int(0..<a.count)) }
            if int(0..<2) == 0 { a.append(value(depth: 1)) }
            if !a.isEmpty { a[int(0..<a.count)] = mutate(a[0], depth: depth - 1) }
            return .array(a)
        default:
            return scalar(allowNull: true)
        }
    }
}
