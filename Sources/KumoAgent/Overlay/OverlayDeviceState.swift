import KumoModel

/// The VXLAN device itself as the kernel has it, from one `ip -d -j addr show dev kumo.1`: enough to tell whether
/// it exists, is up, and still has the identity (VNI, port, local IP, underlay, MAC, nolearning) and the
/// MTU/address the node needs. Device drift is checked separately from entry drift because fixing it may mean
/// re-creating the device, which drops every entry on it.
public struct OverlayDeviceState: Sendable, Hashable {
    public var exists: Bool
    /// `info_kind`: `vxlan` for ours; anything else under our name is refused, not taken over.
    public var kind: String?
    public var up: Bool
    public var mac: String?
    public var mtu: Int?
    public var vni: Int?
    public var port: Int?
    public var localIP: IPv4Address?
    public var underlayDevice: String?
    public var learning: Bool?
    /// IPv4 addresses as `a.b.c.d/len`.
    public var addresses: [String]

    public init(
        exists: Bool, kind: String? = nil, up: Bool = false, mac: String? = nil, mtu: Int? = nil, vni: Int? = nil,
        port: Int? = nil, localIP: IPv4Address? = nil, underlayDevice: String? = nil, learning: Bool? = nil,
        addresses: [String] = []
    ) {
        self.exists = exists
        self.kind = kind
        self.up = up
        self.mac = mac?.lowercased()
        self.mtu = mtu
        self.vni = vni
        self.port = port
        self.localIP = localIP
        self.underlayDevice = underlayDevice
        self.learning = learning
        self.addresses = addresses
    }

    public static let missing = OverlayDeviceState(exists: false)

    /// Parses `ip -d -j addr show dev <device>` (one interface).
    public static func parse(_ text: String) throws(KumoError) -> OverlayDeviceState {
        let items = try OverlayKernelState.array(text, what: "device")
        guard let link = items.first else { return .missing }
        let info = link["linkinfo"]
        let data = info?["info_data"]
        let flags = link["flags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let addresses = (link["addr_info"]?.arrayValue ?? []).compactMap { a -> String? in
            guard a["family"]?.stringValue == "inet", let local = a["local"]?.stringValue,
                let len = a["prefixlen"]?.numberValue.flatMap({ Int(exactly: $0) })
            else { return nil }
            return "\(local)/\(len)"
        }
        return OverlayDeviceState(
            exists: true, kind: info?["info_kind"]?.stringValue, up: flags.contains("UP"),
            mac: link["address"]?.stringValue, mtu: int(link["mtu"]), vni: int(data?["id"]), port: int(data?["port"]),
            localIP: data?["local"]?.stringValue.flatMap(IPv4Address.init), underlayDevice: data?["link"]?.stringValue,
            learning: data?["learning"]?.boolValue, addresses: addresses)
    }

    static func int(_ v: JSONValue?) -> Int? { v?.numberValue.flatMap { Int(exactly: $0) } }
}
