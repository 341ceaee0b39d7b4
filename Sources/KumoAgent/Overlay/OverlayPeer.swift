import Crypto
import Foundation
import KumoModel

/// Another node as the overlay sees it: the /24 its pods live in, the underlay address its VXLAN packets go to,
/// and its VTEP MAC. Every peer becomes exactly three kernel entries on the local `kumo.1` (see `entries`).
public struct OverlayPeer: Sendable, Hashable {
    public var node: String
    public var podCIDR: IPv4Network
    public var publicIP: IPv4Address
    /// Lower-case, colon-separated (the form `ip`/`bridge` print, so diffs compare strings directly).
    public var vtepMAC: String

    public init(node: String, podCIDR: IPv4Network, publicIP: IPv4Address, vtepMAC: String) {
        self.node = node
        self.podCIDR = podCIDR
        self.publicIP = publicIP
        self.vtepMAC = vtepMAC.lowercased()
    }

    /// A peer from what a Node object carries (`spec.podCIDR`, `status.overlay`); nil while any piece is missing
    /// or malformed — a node that has not published its overlay yet is simply not a peer, never an error that
    /// would stop the other peers from being programmed.
    public init?(node: String, podCIDR: String?, overlay: NodeOverlay?) {
        guard let podCIDR, let cidr = IPv4Network(podCIDR), cidr.prefixLength <= 30, let overlay,
            let ip = IPv4Address(overlay.publicIP), Self.isUnicastMAC(overlay.vtepMAC)
        else { return nil }
        self.init(node: node, podCIDR: cidr, publicIP: ip, vtepMAC: overlay.vtepMAC)
    }

    /// The peer's VTEP address: the `.0` of its pod CIDR, which its `kumo.1` carries as a /32. Routes to the
    /// peer's pods go "via" it, and the neighbour entry maps it to the peer's VTEP MAC.
    public var gateway: IPv4Address { podCIDR.address }

    /// The three entries that make the peer's pods reachable: route (onlink via `.0`), permanent neighbour
    /// (`.0` → VTEP MAC; nolearning means ARP never resolves it), permanent FDB (VTEP MAC → underlay IP).
    public var entries: [OverlayEntry] {
        [
            .route(dst: podCIDR, via: gateway),
            .neighbor(ip: gateway, mac: vtepMAC),
            .fdb(mac: vtepMAC, dst: publicIP),
        ]
    }

    /// `02:` + the first 5 bytes of sha256(node name). Pinned rather than kernel-random so that re-creating the
    /// device (agent restart, repair) does not leave every peer's neighbour and FDB entries pointing at a stale
    /// MAC; `02` = locally administered unicast.
    public static func vtepMAC(forNode node: String) -> String {
        let digest = SHA256.hash(data: Data(node.utf8))
        return (["02"] + digest.prefix(5).map { String(format: "%02x", $0) }).joined(separator: ":")
    }

    /// Six colon-separated hex pairs, unicast, not all zero (the all-zero MAC is VXLAN's flood entry).
    public static func isUnicastMAC(_ s: String) -> Bool {
        PodNetwork.isMAC(s) && s.lowercased() != "00:00:00:00:00:00"
    }
}
