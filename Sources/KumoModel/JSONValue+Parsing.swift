/// Strict RFC 8259 parsing of UTF-8 bytes into a `JSONValue`.
///
/// - Any value is accepted at the top level; only JSON whitespace (space, tab, LF, CR) may surround it.
/// - Strings must be valid UTF-8 (no overlongs, no encoded surrogates); control characters must be escaped;
///   `\u` escapes must pair surrogates correctly.
/// - Numbers follow the JSON grammar exactly (no leading zeros, no `+`, no `.5`, no `1.`) and must fit a
///   finite `Double`.
/// - Duplicate object keys are rejected (a later key silently winning is how one writer hides a field from
///   another).
/// - Nesting deeper than `JSONValue.maxParsingDepth` is rejected.
///
/// Errors are `KumoError(.badRequest, "malformed JSON: <what> at line L column C")`; lines and columns are
/// 1-based and the column counts characters (UTF-8 scalars), not bytes.
extension JSONValue {
    /// The deepest nesting of arrays and objects `init(parsing:)` accepts.
    public static let maxParsingDepth = 512

    public init(parsing bytes: some Collection<UInt8>) throws(KumoError) {
        let parsed = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(KumoError) -> JSONValue in try JSONParser.parse(buffer) }
        }
        if let parsed {
            self = try parsed.get()
        } else {
            let array = Array(bytes)
            self = try array.withUnsafeBufferPointer { buffer in
                Result { () throws(KumoError) -> JSONValue in try JSONParser.parse(buffer) }
            }.get()
        }
    }

    public init(parsing string: String) throws(KumoError) {
        try self.init(parsing: string.utf8)
    }
}

/// The byte-level recursive-descent parser behind `JSONValue(parsing:)`.
struct JSONParser {
    private let buf: UnsafeBufferPointer<UInt8>
    private var pos = 0
    private var depth = 0
    /// Values of the arrays/objects being built; each container takes its slice when it closes.
    private var valueStack: [JSONValue] = []
    /// Keys (and their offsets, for duplicate-key errors) of the objects being built.
    private var keyStack: [String] = []
    private var keyOffsets: [Int] = []
    /// Bytes of a string that contains escapes.
    private var scratch: [UInt8] = []

    private init(_ buf: UnsafeBufferPointer<UInt8>) {
        self.buf = buf
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(KumoError) -> JSONValue {
        var parser = JSONParser(buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.pos != buffer.count {
            throw parser.error("unexpected \(parser.describe(parser.pos)) after the JSON value")
        }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(KumoError) -> JSONValue {
        guard pos < buf.count else { throw error("unexpected end of input") }
        switch buf[pos] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            throw error("unexpected \(describe(pos))")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(KumoError) {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        for k in 0..<n {
            guard pos + k < buf.count else { throw error("unexpected end of input", at: pos + k) }
            if buf[pos + k] != p[k] {
                throw error("invalid literal (expected '\(literal)')", at: pos)
            }
        }
        pos += n
    }

    private mutating func enter() throws(KumoError) {
        depth += 1
        if depth > JSONValue.maxParsingDepth {
            throw error("nesting deeper than \(JSONValue.maxParsingDepth) levels")
        }
    }

    private mutating func parseArray() throws(KumoError) -> JSONValue {
        try enter()
        pos += 1  // [
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array([])
        }
        let base = valueStack.count
        while true {
            valueStack.append(try parseValue())
            skipWhitespace()
            guard pos < buf.count else { throw error("unexpected end of input in array") }
            let c = buf[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "]") { break }
            throw error("expected ',' or ']' but found \(describe(pos - 1))", at: pos - 1)
        }
        let result = Array(valueStack[base...])
        valueStack.removeSubrange(base...)
        depth -= 1
        return .array(result)
    }

    private mutating func parseObject() throws(KumoError) -> JSONValue {
        try enter()
        pos += 1  // {
        skipWhitespace()
        if pos < buf.count, buf[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object([:])
        }
        let base = valueStack.count
        let keyBase = keyStack.count
        while true {
            guard pos < buf.count else { throw error("unexpected end of input in object") }
            guard buf[pos] == UInt8(ascii: "\"") else {
                throw error("expected a string key but found \(describe(pos))")
            }
            keyOffsets.append(pos)
            keyStack.append(try parseString())
            skipWhitespace()
            guard pos < buf.count else { throw error("unexpected end of input in object") }
            guard buf[pos] == UInt8(ascii: ":") else {
                throw error("expected ':' after object key but found \(describe(pos))")
            }
            pos += 1
            skipWhitespace()
            valueStack.append(try parseValue())
            skipWhitespace()
            guard pos < buf.count else { throw error("unexpected end of input in object") }
            let c = buf[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") { break }
            throw error("expected ',' or '}' but found \(describe(pos - 1))", at: pos - 1)
        }
        let count = valueStack.count - base
        var dict = [String: JSONValue](minimumCapacity: count)
        for k in 0..<count {
            if dict.updateValue(valueStack[base + k], forKey: keyStack[keyBase + k]) != nil {
                throw error("duplicate key \"\(keyStack[keyBase + k])\"", at: keyOffsets[keyBase + k])
            }
        }
        valueStack.removeSubrange(base...)
        keyStack.removeSubrange(keyBase...)
        keyOffsets.removeSubrange(keyBase...)
        depth -= 1
        return .object(dict)
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(KumoError) -> String {
        let open = pos
        let start = pos + 1
        var i = start
        let end = buf.count
        while i < end {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                pos = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                return try parseEscapedString(start: start, firstEscape: i)
            }
            if c < 0x20 { throw error("unescaped control character in string", at: i) }
            if c < 0x80 {
                i += 1
            } else {
                i = try validateUTF8(at: i)
            }
        }
        throw error("unterminated string", at: open)
    }

    /// The slow path: the string has escapes, so it is assembled in `scratch`.
    private mutating func parseEscapedString(start: Int, firstEscape: Int) throws(KumoError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<firstEscape]))
        var i = firstEscape
        let end = buf.count
        while i < end {
            let c = buf[i]
            if c == UInt8(ascii: "\"") {
                pos = i + 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < end else { break }
                let e = buf[i + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(at: i + 2)
                    var next = i + 6
                    if scalar >= 0xD800, scalar <= 0xDBFF {
                        guard next + 1 < end, buf[next] == UInt8(ascii: "\\"), buf[next + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired UTF-16 surrogate in \\u escape", at: i) }
                        let low = try hex4(at: next + 2)
                        guard low >= 0xDC00, low <= 0xDFFF else {
                            throw error("unpaired UTF-16 surrogate in \\u escape", at: i)
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        next += 6
                    } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                        throw error("unpaired UTF-16 surrogate in \\u escape", at: i)
                    }
                    appendUTF8(scalar)
                    i = next
                    continue
                default:
                    throw error("invalid escape '\\\(describeByte(e))' in string", at: i)
                }
                i += 2
                continue
            }
            if c < 0x20 { throw error("unescaped control character in string", at: i) }
            if c < 0x80 {
                scratch.append(c)
                i += 1
            } else {
                let next = try validateUTF8(at: i)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<next]))
                i = next
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    private func hex4(at i: Int) throws(KumoError) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            guard i + k < buf.count else { throw error("unexpected end of input in \\u escape", at: i + k) }
            let c = buf[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c &- UInt8(ascii: "A") &+ 10
            default: throw error("invalid hex digit in \\u escape", at: i + k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// Validates the multi-byte UTF-8 sequence whose lead byte is at `i` (Unicode Table 3-7: no overlongs,
    /// no surrogates, nothing above U+10FFFF) and returns the offset after it.
    private func validateUTF8(at i: Int) throws(KumoError) -> Int {
        let lead = buf[i]
        let length: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            hi = 0x9F
        case 0xF0:
            length = 4
            lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            hi = 0x8F
        default: throw error("invalid UTF-8 in string", at: i)
        }
        guard i + length <= buf.count else { throw error("invalid UTF-8 in string", at: i) }
        let second = buf[i + 1]
        guard second >= lo, second <= hi else { throw error("invalid UTF-8 in string", at: i) }
        var k = 2
        while k < length {
            guard buf[i + k] & 0xC0 == 0x80 else { throw error("invalid UTF-8 in string", at: i) }
            k += 1
        }
        return i + length
    }

    // MARK: - Numbers

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    private mutating func parseNumber() throws(KumoError) -> Double {
        let start = pos
        var i = pos
        let end = buf.count
        var negative = false
        if buf[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        @inline(__always) func isDigit(_ i: Int) -> Bool {
            i < end && buf[i] &- UInt8(ascii: "0") < 10
        }
        guard isDigit(i) else {
            throw error(
                i < end ? "expected a digit but found \(describe(i))" : "unexpected end of input in number", at: i)
        }
        // Significant digits accumulate in `mantissa` while they fit exactly; `exponent` is the power of ten.
        var mantissa: UInt64 = 0
        var exponent = 0
        var truncated = false
        @inline(__always) func accumulate(_ d: UInt8) {
            if mantissa < 100_000_000_000_000_000 {
                mantissa = mantissa &* 10 &+ UInt64(d)
            } else {
                truncated = true
                exponent += 1
            }
        }
        if buf[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw error("leading zeros are not allowed in numbers", at: start) }
        } else {
            while isDigit(i) {
                accumulate(buf[i] &- UInt8(ascii: "0"))
                i += 1
            }
        }
        if i < end, buf[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw error("expected a digit after the decimal point", at: i) }
            while isDigit(i) {
                if mantissa < 100_000_000_000_000_000 {
                    accumulate(buf[i] &- UInt8(ascii: "0"))
                    exponent -= 1
                } else {
                    truncated = true
                }
                i += 1
            }
        }
        if i < end, buf[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < end, buf[i] == UInt8(ascii: "+") || buf[i] == UInt8(ascii: "-") {
                expNegative = buf[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { throw error("expected a digit in the exponent", at: i) }
            var e = 0
            while isDigit(i) {
                if e < 100_000 { e = e * 10 + Int(buf[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            exponent += expNegative ? -e : e
        }
        pos = i
        // Exact fast path (Clinger): the mantissa is exactly representable and so is the power of ten, so one
        // IEEE multiplication or division rounds correctly.
        if !truncated, mantissa <= 1 << 53 {
            var value: Double?
            if mantissa == 0 {
                value = 0
            } else if exponent == 0 {
                value = Double(mantissa)
            } else if exponent > 0, exponent <= 22 {
                value = Double(mantissa) * JSONParser.exactPowersOfTen[exponent]
            } else if exponent < 0, exponent >= -22 {
                value = Double(mantissa) / JSONParser.exactPowersOfTen[-exponent]
            }
            if let value { return negative ? -value : value }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("number out of range", at: start)
        }
        return value
    }

    // MARK: - Whitespace and errors

    @inline(__always)
    private mutating func skipWhitespace() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    private func describeByte(_ c: UInt8) -> String {
        if c >= 0x20, c < 0x7F { return String(UnicodeScalar(c)) }
        let hex = String(c, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count < 2 ? "0" + hex : hex)
    }

    private func describe(_ i: Int) -> String {
        guard i < buf.count else { return "end of input" }
        let c = buf[i]
        if c >= 0x20, c < 0x7F { return "character '\(String(UnicodeScalar(c)))'" }
        return describeByte(c)
    }

    private func error(_ what: String, at offset: Int? = nil) -> KumoError {
        let offset = min(offset ?? pos, buf.count)
        var line = 1
        var column = 1
        for k in 0..<offset {
            let c = buf[k]
            if c == 0x0A {
                line += 1
                column = 1
            } else if c & 0xC0 != 0x80 {
                column += 1
            }
        }
        return KumoError(.badRequest, "malformed JSON: \(what) at line \(line) column \(column)")
    }
}
