/// An IPv4 address as a number (`10.244.1.5`).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad without leading zeros; nil otherwise.
    public init?(_ text: String) {
        guard let v = SpecValidation.parseIPv4(text) else { return nil }
        value = v
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public var octets: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = SpecValidation.parseIPv4(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 address: \(s)"))
        }
        value = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// A locally administered MAC derived from this address: `prefix` (2 bytes) + the 4 address bytes, so the
    /// MAC↔IP pair is stable and unique within the cluster (instances use `02:6b`).
    public func mac(prefix: (UInt8, UInt8) = (0x02, 0x6b)) -> String {
        ([prefix.0, prefix.1] + octets).map { b in
            let h = String(b, radix: 16)
            return h.count == 1 ? "0" + h : h
        }.joined(separator: ":")
    }
}

/// An IPv4 network (`10.244.1.0/24`): no host bits set.
public struct IPv4Network: Sendable, Hashable, CustomStringConvertible, Codable {
    public var address: IPv4Address
    public var prefixLength: Int

    public init?(address: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength), address.value & Self.hostMask(prefixLength) == 0 else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    public init?(_ text: String) {
        guard SpecValidation.cidrReason(text) == nil else { return nil }
        let parts = text.split(separator: "/")
        guard let a = IPv4Address(String(parts[0])), let bits = Int(parts[1]) else { return nil }
        self.init(address: a, prefixLength: bits)
    }

    static func hostMask(_ bits: Int) -> UInt32 { bits == 32 ? 0 : UInt32.max >> UInt32(bits) }

    public var description: String { "\(address)/\(prefixLength)" }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var first: IPv4Address { address }
    public var last: IPv4Address { IPv4Address(address.value | Self.hostMask(prefixLength)) }

    public func contains(_ ip: IPv4Address) -> Bool { ip.value & ~Self.hostMask(prefixLength) == address.value }

    /// The `index`-th subnet of `prefixLength` inside this network, nil when out of range.
    public func subnet(_ index: Int, prefixLength sub: Int) -> IPv4Network? {
        guard sub >= prefixLength, sub <= 32, index >= 0, UInt64(index) < UInt64(1) << UInt64(sub - prefixLength) else {
            return nil
        }
        let offset = UInt32(UInt64(index) << UInt64(32 - sub))
        return IPv4Network(address: IPv4Address(address.value | offset), prefixLength: sub)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let n = IPv4Network(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IPv4 CIDR: \(s)"))
        }
        self = n
    }
}
