import Testing

@testable import KumoModel

@Suite("IPv4 and IPAM")
struct IPAMTests {
    @Test("addresses and networks parse, print and compare")
    func parsing() throws {
        let ip = try #require(IPv4Address("10.244.1.5"))
        #expect(ip.description == "10.244.1.5")
        #expect(IPv4Address("10.244.01.5") == nil)
        #expect(IPv4Address("10.244.1") == nil)
        let net = try #require(IPv4Network("10.244.1.0/24"))
        #expect(net.contains(ip))
        #expect(!net.contains(IPv4Address("10.244.2.1")!))
        #expect(net.last.description == "10.244.1.255")
        #expect(IPv4Network("10.244.1.1/24") == nil, "host bits set")
        #expect(ip.mac() == "02:6b:0a:f4:01:05")
    }

    @Test("node subnets are handed out in order, skipping used ones, until the cluster CIDR is exhausted")
    func nodeSubnets() throws {
        let ipam = IPAM(cluster: IPv4Network("10.244.0.0/16")!)
        #expect(ipam.nodeSubnetCount == 256)
        #expect(ipam.nextNodeSubnet(used: [])?.description == "10.244.0.0/24")
        let used: Set = [IPv4Network("10.244.0.0/24")!, IPv4Network("10.244.1.0/24")!]
        #expect(ipam.nextNodeSubnet(used: used)?.description == "10.244.2.0/24")
        let small = IPAM(cluster: IPv4Network("10.244.0.0/23")!)
        let all: Set = [IPv4Network("10.244.0.0/24")!, IPv4Network("10.244.1.0/24")!]
        #expect(small.nextNodeSubnet(used: all) == nil)
    }

    @Test("addresses skip .0, .1 and broadcast, avoid used ones, wrap after the last handed out")
    func addresses() throws {
        let subnet = IPv4Network("10.244.3.0/24")!
        #expect(IPAM.gateway(of: subnet).description == "10.244.3.1")
        #expect(IPAM.nextAddress(in: subnet, used: [])?.description == "10.244.3.2")
        let used: Set = [IPv4Address("10.244.3.2")!, IPv4Address("10.244.3.3")!]
        #expect(IPAM.nextAddress(in: subnet, used: used)?.description == "10.244.3.4")
        #expect(IPAM.nextAddress(in: subnet, used: [], after: IPv4Address("10.244.3.9"))?.description == "10.244.3.10")
        #expect(IPAM.nextAddress(in: subnet, used: [], after: IPv4Address("10.244.3.254"))?.description == "10.244.3.2")
        var full = Set<IPv4Address>()
        for v in try #require(IPAM.assignable(in: subnet)) { full.insert(IPv4Address(v)) }
        #expect(full.count == 253)
        #expect(IPAM.nextAddress(in: subnet, used: full) == nil)
        // a /31 or /32 (a node's podCIDR is client input) has nothing to hand out; it used to trap
        for tiny in ["10.244.3.0/31", "10.244.3.0/32", "255.255.255.254/31", "255.255.255.255/32", "10.244.3.0/30"] {
            let net = try #require(IPv4Network(tiny))
            #expect(IPAM.assignable(in: net) == nil, "\(tiny)")
            #expect(IPAM.nextAddress(in: net, used: []) == nil, "\(tiny)")
        }
        #expect(IPAM.assignable(in: try #require(IPv4Network("10.244.3.0/29"))) == (IPv4Address("10.244.3.2")!.value...IPv4Address("10.244.3.6")!.value))
    }
}
