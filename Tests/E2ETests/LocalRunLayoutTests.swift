import Foundation
import KumoTestbed
import Testing

/// The `make run` layout is a documented interface (README, docs/operations.md); the E2E clouds share its
/// topology code with their own prefix and block. No root needed.
@Suite struct LocalRunLayoutTests {
    @Test func makeRunLayoutIsTheDocumentedOne() {
        let layout = CloudLayout.makeRun(dir: "/r/.kumo-run", agents: 3, kumo: "/b/kumo")
        let t = layout.topology
        #expect(layout.serverURL == "https://192.0.2.225:7480")
        #expect(t.network == "192.0.2.224/28")
        #expect((1...3).map(t.hostIP) == ["192.0.2.226", "192.0.2.227", "192.0.2.228"])
        #expect(t.underlay == "kumo-ul" && t.host(2) == "kumo-h2" && t.hostLink(2) == "kumo-h2u" && t.rootLink == "kumo-0")
        #expect(layout.nodeName(1) == "node-1")
        #expect(layout.configPath == "/r/.kumo-run/config")
        #expect(layout.serverDataDir + "/admin.token" == "/r/.kumo-run/data/admin.token")
        #expect(layout.serverLog == "/r/.kumo-run/server.log" && layout.agentLog(2) == "/r/.kumo-run/agent-2.log")
        let pids = SupervisedLauncher(supervisor: "/b/kumo-local", dir: layout.dir)
        #expect(pids.pidFile("agent-1") == "/r/.kumo-run/agent-1.pid")
        #expect(pids.supervisorPidFile("agent-1") == "/r/.kumo-run/agent-1.supervisor.pid")
        let agent = layout.agent(2)
        #expect(agent.name == "agent-2" && agent.needsRoot)
        #expect(
            agent.argv == [
                "nsenter", "--net=/run/netns/kumo-h2", "/b/kumo", "agent", "--server", "https://192.0.2.225:7480",
                "--join-token-file", "/r/.kumo-run/join.token", "--name", "node-2", "--data-dir", "/r/.kumo-run/agent-2",
                "--runc-root", "/r/.kumo-run/agent-2/runc", "--cpu", "2", "--memory", "2Gi", "--label", "zone=zone-2",
                "--listen", "0.0.0.0:7481", "--log-level", "info",
            ])
        #expect(
            SupervisedLauncher(supervisor: "/b/kumo-local", dir: layout.dir, user: (1000, 1000)).argv(
                DaemonSpec(name: "server", argv: ["/b/kumo", "server"], log: layout.serverLog, needsRoot: false))
                == [
                    "/b/kumo-local", "supervise", "--pid-file", "/r/.kumo-run/server.pid", "--log", "/r/.kumo-run/server.log",
                    "--user", "1000:1000", "--", "/b/kumo", "server",
                ])
    }

    @Test func testLayoutKeepsItsOwnPrefixBlockAndNames() {
        let layout = CloudLayout.test(prefix: "k1a", block: 3, dir: "/tmp/c", agents: 2)
        #expect(layout.serverURL == "https://192.0.2.49:7480")
        #expect(layout.topology.hostIP(2) == "192.0.2.51")
        #expect(layout.nodeName(2) == "k1a-n2" && layout.topology.host(2) == "k1ah2")
        #expect(layout.serverArguments == ["--node-grace-seconds", "6"] && layout.serverLogLevel == "warning")
        #expect(layout.agent(1).argv.contains("1Gi") && !layout.agent(1).argv.contains("--listen"))
    }

    @Test func topologyCommandsBuildAndRemoveEveryName() {
        let t = NetnsTopology.makeRun(hosts: 2)
        let create = t.createCommands
        #expect(create.first == ["ip", "netns", "add", "kumo-ul"])
        #expect(create.contains(["ip", "addr", "add", "192.0.2.225/28", "dev", "kumo-0"]))
        #expect(create.contains(["ip", "-n", "kumo-h2", "addr", "add", "192.0.2.227/28", "dev", "eth0"]))
        #expect(create.contains(["ip", "-n", "kumo-ul", "link", "set", "kumo-h1u", "master", "br0", "up"]))
        #expect(create.count == 7 + 2 * 7)
        #expect(
            t.destroyCommands == [
                ["ip", "netns", "del", "kumo-h1"], ["ip", "netns", "del", "kumo-h2"], ["ip", "netns", "del", "kumo-ul"],
                ["ip", "link", "del", "kumo-0"],
            ])
    }

    /// supervise.sh's delays: 1 s doubling to 30 s, back to 1 s after a minute up.
    @Test func restartBackoff() {
        var b = RestartBackoff()
        let quick = (0..<7).map { _ in b.next(uptime: .seconds(2)) }
        #expect(quick == [1, 2, 4, 8, 16, 30, 30].map { Duration.seconds($0) })
        #expect(b.next(uptime: .seconds(60)) == .seconds(1))
        #expect(b.next(uptime: .seconds(59)) == .seconds(2))
    }
}
