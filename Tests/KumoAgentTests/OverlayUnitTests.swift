import KumoModel
import Logging
import Testing

@testable import KumoAgent

/// The pure pieces around the diff: VTEP MACs, peers from Node data, conflict handling, parsing of what the
/// kernel prints (captured from iproute2 6.1 on this machine) and batch error messages.
@Suite struct OverlayUnitTests {
    @Test func vtepMACIsPinnedFromTheNodeName() {
        // printf node-a | sha256sum → 66570ff05a…
        #expect(OverlayPeer.vtepMAC(forNode: "node-a") == "02:66:57:0f:f0:5a")
        #expect(OverlayPeer.vtepMAC(forNode: "node-b") == "02:93:ef:37:c6:15")
        #expect(OverlayPeer.isUnicastMAC(OverlayPeer.vtepMAC(forNode: "anything")))
    }

    @Test func peerFromNodeDataNeedsEveryPiece() {
        let overlay = NodeOverlay(publicIP: "192.0.2.162", vtepMAC: "02:93:EF:37:C6:15")
        let p = OverlayPeer(node: "node-b", podCIDR: "10.244.2.0/24", overlay: overlay)
        #expect(p?.vtepMAC == "02:93:ef:37:c6:15")
        #expect(p?.gateway == IPv4Address("10.244.2.0"))
        #expect(p?.entries.map(\.description) == [
            "route 10.244.2.0/24 via 10.244.2.0", "neighbor 10.244.2.0 lladdr 02:93:ef:37:c6:15",
            "fdb 02:93:ef:37:c6:15 dst 192.0.2.162",
        ])
        #expect(OverlayPeer(node: "n", podCIDR: nil, overlay: overlay) == nil)
        #expect(OverlayPeer(node: "n", podCIDR: "10.244.2.0/24", overlay: nil) == nil)
        #expect(OverlayPeer(node: "n", podCIDR: "10.244.2.1/24", overlay: overlay) == nil)
        #expect(OverlayPeer(node: "n", podCIDR: "10.244.2.0/24", overlay: .init(publicIP: "x", vtepMAC: "02:00:00:00:00:01")) == nil)
        #expect(OverlayPeer(node: "n", podCIDR: "10.244.2.0/24", overlay: .init(publicIP: "192.0.2.1", vtepMAC: "03:00:00:00:00:01")) == nil)
        #expect(OverlayPeer(node: "n", podCIDR: "10.244.2.0/24", overlay: .init(publicIP: "192.0.2.1", vtepMAC: "00:00:00:00:00:00")) == nil)
    }

    @Test func desiredSkipsTheLocalNodeAndConflicts() {
        let a = OverlayDiffTests.peer("node-a", 1)
        let b = OverlayDiffTests.peer("node-b", 2)
        var clash = OverlayDiffTests.peer("node-z", 2)  // claims node-b's /24: node-b wins by name
        clash.publicIP = IPv4Address("192.0.2.170")!
        var mine = OverlayDiffTests.peer("node-y", 1)  // claims the local /24: never routed onto kumo.1
        mine.publicIP = IPv4Address("192.0.2.171")!
        var sameMAC = OverlayDiffTests.peer("node-x", 5)
        sameMAC.vtepMAC = b.vtepMAC
        let desired = OverlayDiff.desired(peers: [clash, mine, sameMAC, b, a], localNode: "node-a")
        #expect(desired == Set(b.entries))
        // Without a local node every peer counts (e.g. a node that is not registered yet).
        #expect(OverlayDiff.desired(peers: [a, b]).count == 6)
    }

    @Test func parsesDeviceState() throws {
        let json = #"""
            [{"ifindex":3,"ifname":"kumo.1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450,"address":"02:11:22:33:44:55",
            "linkinfo":{"info_kind":"vxlan","info_data":{"id":1,"local":"192.0.2.170","link":"br0","port_range":{"low":0,"high":0},
            "port":4789,"learning":false,"ttl":0}},"addr_info":[{"family":"inet","local":"10.244.1.0","prefixlen":32,"scope":"global"},
            {"family":"inet6","local":"fe80::11:22ff:fe33:4455","prefixlen":64,"scope":"link"}]}]
            """#
        let s = try OverlayDeviceState.parse(json)
        #expect(s == OverlayDeviceState(
            exists: true, kind: "vxlan", up: true, mac: "02:11:22:33:44:55", mtu: 1450, vni: 1, port: 4789,
            localIP: IPv4Address("192.0.2.170"), underlayDevice: "br0", learning: false, addresses: ["10.244.1.0/32"]))
        #expect(try OverlayDeviceState.parse("[]") == .missing)
        #expect(throws: KumoError.self) { try OverlayDeviceState.parse("{\"not\":\"an array\"}") }
        let drift = OverlayKernel.identityDrift(
            s, vni: 1, port: 4789, mac: "02:11:22:33:44:56", localIP: IPv4Address("192.0.2.170")!, underlayDevice: "eth0")
        #expect(drift == ["dev br0 → eth0", "mac 02:11:22:33:44:55 → 02:11:22:33:44:56"])
    }

    @Test func parsingSkipsWhatIsNotOurs() throws {
        let s = try OverlayKernelState.parse(
            routes: #"[{"dst":"default","gateway":"10.0.0.1","flags":[]},{"type":"blackhole","dst":"10.244.5.0/24","flags":[]},{"dst":"10.244.2.0/24","gateway":"10.244.2.0","metric":1e300,"flags":["onlink"]}]"#,
            neighbors: #"[{"dst":"fe80::1","lladdr":"02:00:00:00:00:01","state":["STALE"]},{"dst":"10.244.2.0","state":["INCOMPLETE"]}]"#,
            fdb: #"[{"mac":"33:33:00:00:00:01","flags":["self"],"state":"permanent"},{"mac":"02:00:00:00:00:02","dst":"fd00::2","flags":["self"],"state":"permanent"}]"#)
        #expect(s.routes == [.init(dst: IPv4Network("10.244.2.0/24")!, gateway: IPv4Address("10.244.2.0"), onlink: true)])
        #expect(s.neighbors == [.init(ip: IPv4Address("10.244.2.0")!, mac: nil, states: ["INCOMPLETE"])])
        #expect(s.fdb.allSatisfy { !$0.isOverlayRemote })
        #expect(try OverlayKernelState.parse(routes: "", neighbors: "\n", fdb: "[]").count == 0)
        #expect(throws: KumoError.self) { try OverlayKernelState.parse(routes: "[{", neighbors: "[]", fdb: "[]") }
    }

    @Test func batchFailuresNameTheLine() {
        let lines = ["route replace a", "route del b", "neigh del c"]
        #expect(OverlayKernel.batchFailure(
            name: "ip", lines: lines, status: 1, stderr: "RTNETLINK answers: No such process\nCommand failed -:2\n")
            == #"ip -batch line 2 of 3 "route del b": RTNETLINK answers: No such process (lines 3–3 not run)"#)
        #expect(OverlayKernel.batchFailure(
            name: "ip", lines: lines, status: 2, stderr: "RTNETLINK answers: No such file or directory\n")
            == "ip -batch stopped at a line it did not name (exit 2, 3 lines): RTNETLINK answers: No such file or directory")
    }

    @Test func invalidNamesAreRefused() throws {
        var logger = Logger(label: "t")
        logger.logLevel = .critical
        #expect(throws: KumoError.self) { try OverlayKernel(device: "kumo.1; rm", logger: logger) }
        #expect(throws: KumoError.self) { try OverlayKernel(device: "a-much-too-long-name", logger: logger) }
        #expect(try OverlayKernel(logger: logger).device == "kumo.1")
    }
}
