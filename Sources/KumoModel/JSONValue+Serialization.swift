/// Compact, deterministic JSON output.
///
/// - Object keys are sorted bytewise on their UTF-8, so equal values always serialize to equal bytes
///   (used for hashing, history and stable API output).
/// - Whole numbers with |n| < 2^53 print as integers (`3`, `-0` prints `0`); other finite numbers print in
///   Swift's shortest round-trip form (`0.1`, `1e-07`, `1e+300`); non-finite numbers print `null`.
/// - Strings escape `"`, `\` and control characters (`\n`, `\t`, `\r`, `\b`, `\f`, others `\u00XX`);
///   everything else, including non-ASCII UTF-8 and `/`, passes through.
extension JSONValue {
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        serialized(into: &out)
        return out
    }

    /// Appends the compact serialization to `out` (for building larger documents such as lists).
    public func serialized(into out: inout [UInt8]) {
        switch self {
        case .null:
            JSONWriter.appendNull(&out)
        case .bool(let b):
            JSONWriter.appendLiteral(b ? "true" : "false", to: &out)
        case .number(let n):
            JSONWriter.appendNumber(n, to: &out)
        case .string(let s):
            JSONWriter.appendString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            var first = true
            for element in a {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                element.serialized(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if o.count == 1, let (key, value) = o.first {
                JSONWriter.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.serialized(into: &out)
            } else if !o.isEmpty {
                // Sort positions, not (key, value) copies: no retain/release traffic for the values.
                var order = Array(o.indices)
                order.sort { JSONWriter.utf8Less(o.keys[$0], o.keys[$1]) }
                var first = true
                for index in order {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    JSONWriter.appendString(o.keys[index], to: &out)
                    out.append(UInt8(ascii: ":"))
                    o.values[index].serialized(into: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The compact serialization as a `String`.
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

/// Byte-level helpers for `serialized(into:)`.
enum JSONWriter {
    /// Bytewise UTF-8 order (Swift's `<` on `String` compares canonical equivalents, which is not bytewise).
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        let result = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                let n = min(pa.count, pb.count)
                var i = 0
                while i < n {
                    if pa[i] != pb[i] { return pa[i] < pb[i] }
                    i += 1
                }
                return pa.count < pb.count
            }
        }
        if let result, let result { return result }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func appendNull(_ out: inout [UInt8]) {
        appendLiteral("null", to: &out)
    }

    @inline(__always)
    static func appendLiteral(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    static func appendNumber(_ n: Double, to out: inout [UInt8]) {
        guard n.isFinite else {
            appendNull(&out)
            return
        }
        if n.rounded(.towardZero) == n, n.magnitude < 9_007_199_254_740_992 {
            appendInteger(Int64(n), to: &out)
        } else {
            out.append(contentsOf: n.description.utf8)
        }
    }

    static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        var magnitude = v.magnitude
        if v < 0 { out.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(magnitude))
            return
        }
        let start = out.count
        while magnitude > 0 {
            out.append(UInt8(ascii: "0") &+ UInt8(magnitude % 10))
            magnitude /= 10
        }
        out[start...].reverse()
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &out) }
        if done == nil {
            Array(s.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let end = bytes.count
        while i < end {
            let c = bytes[i]
            if c >= 0x20, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            out.append(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(c)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(c >> 4)])
                out.append(hexDigits[Int(c & 0xF)])
            }
            i += 1
            runStart = i
        }
        if runStart < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<end])) }
    }
}
