import Foundation
import KumoModel
import KumoSystem
import Testing

@testable import KumoAgent

/// The HAProxy renderer as values (golden files, regenerate with KUMO_UPDATE_GOLDEN=1 and review the diff), checked
/// by the real `haproxy -c`; `show stat` parsing, request rates and the plain-language findings.
@Suite struct HAProxyConfigTests {
    static func web(endpoints: Int, generation: Int = 7) -> LBService {
        LBService(
            project: "demo", name: "web", vip: "10.96.0.10",
            ports: [ServicePort(name: "http", port: 80, targetPort: 8080, protocol: .http), ServicePort(name: "admin", port: 9090, protocol: .tcp)],
            balance: .leastconn, healthCheck: ServiceHealthCheck(path: "/healthz", intervalSeconds: 1, rise: 1, fall: 3),
            external: ServiceExternal(port: 30080),
            endpoints: (0..<endpoints).map {
                Endpoint(ip: "10.244.\($0 + 1).5", port: 8080, replica: "web-abc\($0)", node: "node-\($0 + 1)", ready: true)
            }, generation: generation, maxConnectionsPerReplica: 50)
    }

    static let db = LBService(
        project: "shop", name: "db", vip: "10.96.0.11", ports: [ServicePort(port: 5432)], endpoints: [], generation: 1)

    static func config(_ services: [LBService], withheld: Set<Int> = []) -> HAProxyConfig {
        HAProxyConfig(
            node: "node-1", adminSocket: "/var/lib/kumo-agent/node-1/haproxy/admin.sock",
            aliveSocket: "/var/lib/kumo-agent/node-1/haproxy/alive.sock", nodeAddress: "192.0.2.18", services: services,
            withheldExternalPorts: withheld, chroot: "/var/lib/kumo-agent/node-1/haproxy/empty", uid: 102, gid: 106)
    }

    func golden(_ name: String, _ text: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/haproxy-\(name).cfg")
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" { try Data(text.utf8).write(to: url) }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(text == expected, "golden haproxy-\(name).cfg differs")
    }

    @Test func rendersServicesDeterministically() throws {
        let text = Self.config([Self.db, Self.web(endpoints: 3)]).render()
        try golden("two-services", text)
        #expect(Self.config([Self.web(endpoints: 3), Self.db]).render() == text, "input order does not matter")
        #expect(text.contains("    bind 192.0.2.18:30080\n"), "external port on the node address")
        #expect(text.components(separatedBy: "    server web-abc").count - 1 == 6, "3 servers × 2 ports")
        #expect(text.contains("\n    chroot /var/lib/kumo-agent/node-1/haproxy/empty\n    uid 102\n    gid 106\n"), "confined after binding")
    }

    @Test func withheldExternalPortIsACommentNotABind() throws {
        let text = Self.config([Self.db, Self.web(endpoints: 1)], withheld: [30080]).render()
        try golden("withheld-port", text)
        #expect(!text.contains("    bind 192.0.2.18:30080\n"))
        #expect(text.contains("    bind 10.96.0.10:80\n"), "the VIP is still served")
        #expect(text.contains("# bind 192.0.2.18:30080 withheld"))
        var unconfined = Self.config([Self.db])
        unconfined.chroot = nil
        unconfined.uid = nil
        unconfined.gid = nil
        #expect(!unconfined.render().contains("chroot") && !unconfined.render().contains("uid "))
    }

    @Test func serviceDNSRecords() {
        let records = LoadBalancerManager.dnsRecords([Self.web(endpoints: 1), Self.db])
        #expect(records.map(\.name) == ["web.demo.kumo", "db.shop.kumo"])
        #expect(records.map(\.ip.description) == ["10.96.0.10", "10.96.0.11"])
    }

    @Test func emptyBackendAndNoServices() throws {
        try golden("no-endpoints", Self.config([Self.db]).render())
        let empty = Self.config([]).render()
        #expect(empty.contains("frontend kumo.alive"), "HAProxy needs one listener even without services")
    }

    @Test(.enabled(if: programExists("/usr/sbin/haproxy"), "needs haproxy"))
    func realHAProxyAcceptsTheRenderedConfig() async throws {
        let dir = NSTemporaryDirectory() + "kumo-haproxy-c-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cases: [([LBService], Set<Int>)] = [([Self.db, Self.web(endpoints: 3)], []), ([], []), ([Self.web(endpoints: 0)], [30080])]
        for (i, (services, withheld)) in cases.enumerated() {
            let path = dir + "/\(i).cfg"
            try Data(Self.config(services, withheld: withheld).render().utf8).write(to: URL(fileURLWithPath: path))
            let r = try await Command().run(["/usr/sbin/haproxy", "-c", "-q", "-f", path])
            #expect(r.succeeded, "haproxy -c: \(r.stderr)")
        }
    }

    static let csv = """
        # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,
        demo.web:80,FRONTEND,,,2,9,20000,120,1,2,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,3,0,9,,,,0,118,0,0,2,0,,3,9,120,,,0,0,0,0,,,,,,,,
        demo.web:80,web-abc0,0,0,1,4,,60,1,2,,0,,0,0,0,0,UP,1,1,0,0,0,10,0,,1,3,1,,60,,2,1,,5,L4OK,,0,0,59,0,0,1,0,,,,60,0,0,,,,,1,,,0,1,12,13,
        demo.web:80,web-abc1,3,5,10,10,10,60,1,2,,0,,1,0,1,1,DOWN,1,1,0,2,1,5,5,,1,3,2,,60,,2,2,,5,L4CON,,1,0,59,0,0,1,0,,,,60,0,0,,,,,1,,,0,1,12,13,
        demo.web:80,BACKEND,4,6,11,14,2000,120,1,2,0,0,,1,0,1,1,UP,2,2,0,,0,10,0,,1,3,0,,120,,1,3,,9,,,,0,118,0,0,2,0,,,,120,0,0,0,0,0,0,1,,,7,1,250,260,
        """

    @Test func parsesShowStatAndFindsWhatItMeans() {
        let stats = HAProxyStats.parse(Self.csv)
        #expect(stats.rows.count == 4)
        let backend = stats.backend("demo.web:80")
        #expect(backend?.int("qcur") == 4)
        #expect(backend?.int("rtime") == 250)
        #expect(backend?.requestsTotal == 120)
        #expect(backend?.errors == 3, "econ 1 + eresp 0 + 5xx 2")
        let servers = stats.servers("demo.web:80")
        #expect(servers.map(\.server) == ["web-abc0", "web-abc1"])
        let findings = LBFinding.findings(
            backend: "demo.web:80", servers: servers, row: backend, previousQueue: 1, previousResponseMs: 40)
        #expect(findings.contains { $0.contains("queue 4 and rising (was 1)") && $0.contains("scale out or raise maxconn") })
        #expect(findings.contains { $0.contains("web-abc1 is DOWN (L4CON") })
        #expect(findings.contains { $0.contains("response time rose from 40 ms to 250 ms") })
        let calm = LBFinding.findings(backend: "demo.web:80", servers: [servers[0]], row: stats.rows[1], previousQueue: 0, previousResponseMs: 12)
        #expect(calm.isEmpty, "\(calm)")
        #expect(LBFinding.findings(backend: "x", servers: [], row: backend, previousQueue: nil, previousResponseMs: nil).first?.contains("503") == true)
    }

    @Test func requestRatesFromCounters() {
        var samples = LBSamples()
        let t0 = ContinuousClock.now
        func stats(_ total: Int) -> HAProxyStats {
            HAProxyStats(rows: [.init(proxy: "p", server: "BACKEND", fields: ["req_tot": "\(total)", "qcur": "0", "rtime": "5"])])
        }
        samples.add(stats(100), at: t0)
        samples.add(stats(400), at: t0 + .seconds(10))
        samples.add(stats(700), at: t0 + .seconds(20))
        #expect(samples.perMinute("p/BACKEND") == 1800, "600 requests in 20 s = 1800/min")
        #expect(samples.perSecond("p/BACKEND", over: .seconds(10)) == 30)
        #expect(samples.perMinute("missing/BACKEND") == 0)
        // a reload starts the counters again: 700 → 50 means 50 more, not a negative rate or zero
        samples.add(stats(50), at: t0 + .seconds(30))
        #expect(samples.perSecond("p/BACKEND", over: .seconds(10)) == 5)
        #expect(samples.perMinute("p/BACKEND") == 650 * 60 / 30.0, "300 + 300 + 50 in 30 s")
    }
}
