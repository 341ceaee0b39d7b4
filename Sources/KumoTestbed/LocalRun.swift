import Foundation
import KumoModel
import KumoSystem

/// `make run` and `make stop` (`kumo-local up` and `down`): a `LocalCloud` of `CloudLayout.makeRun` whose daemons
/// run under detached supervisors (`SupervisedLauncher`), so they outlive `up`; then the demo image, the VM demo
/// and how to use it. Its layout is a documented interface (README, docs/operations.md): `DIR/config`,
/// `DIR/data/{admin.token,ca.crt}`, `DIR/agent-N.pid`, namespaces `kumo-hN` and `kumo-ul`, links `kumo-hNu`, the
/// server at https://192.0.2.225:7480, nodes `node-N`.
public struct LocalRun: Sendable {
    /// The run directory (absolute), `.kumo-run` of the checkout for `make run`.
    public var dir: String
    public var agents: Int
    /// The `kumo` binary.
    public var kumo: String
    /// The `kumo-local` binary (what runs `supervise`).
    public var supervisor: String
    public var prefix = "kumo-"
    public var agentLogLevel = "info"
    /// Build the VM images and boot `vm1`.
    public var vm = true
    /// The checkout holding `scripts/build-vm-images.sh` (the VM demo).
    public var repository: String?
    /// Under sudo: the user who ran `make run`. The server runs as them, and the directory and the CLI config are
    /// theirs, as when the script ran the server without sudo.
    public var user: (uid: UInt32, gid: UInt32)?

    /// The most agents: the host namespaces `down` removes are 1–9.
    public static let maxAgents = 9

    public init(dir: String, agents: Int, kumo: String, supervisor: String) {
        self.dir = dir
        self.agents = agents
        self.kumo = kumo
        self.supervisor = supervisor
    }

    public var layout: CloudLayout {
        .makeRun(dir: dir, agents: agents, kumo: kumo, prefix: prefix, agentLogLevel: agentLogLevel)
    }

    /// What `up` or `down` could not do, said as the script said it, and the exit status.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var status: Int32
        public var description: String { message }
    }

    /// Starts afresh: removes what a previous run left and `dir`, builds the cloud, returns once every node is
    /// Ready and the demos are under way; returns how to use it.
    public func up() async throws(Failure) -> String {
        guard (1...Self.maxAgents).contains(agents) else { throw Failure(message: "AGENTS must be 1 to 9", status: 2) }
        guard dir.hasPrefix("/"), dir.split(separator: "/").count >= 2 else {
            throw Failure(message: "refusing to use \(dir) as the run directory", status: 2)
        }
        down(say: { _ in })
        try? FileManager.default.removeItem(atPath: dir)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw Failure(message: "cannot create \(dir): \(error)", status: 1)
        }
        giveToUser(dir)
        let layout = self.layout
        let cloud = LocalCloud(layout: layout, launcher: SupervisedLauncher(supervisor: supervisor, dir: dir, user: user))
        do {
            try await cloud.startControlPlane(serverReadyTimeout: .seconds(10))
        } catch {
            if let server = cloud.server, server.daemon.hasExited {
                throw Failure(message: "kumo server failed to start:\n" + tail(layout.serverLog, 20), status: 1)
            }
            if cloud.server != nil, (error as? KumoError)?.code == .unavailable {
                throw Failure(message: "kumo server did not become ready; see \(layout.serverLog)", status: 1)
            }
            throw Failure(message: "\(error)", status: 1)
        }
        giveToUser(layout.configPath)
        var ready = 0
        do {
            for i in 1...agents { try cloud.startAgent(i) }
            for _ in 0..<150 {
                ready = (try? await cloud.readyNodeCount()) ?? 0
                if ready >= agents { break }
                try await Task.sleep(for: .milliseconds(200))
            }
        } catch {
            throw Failure(message: "\(error)", status: 1)
        }
        if ready < agents {
            let nodes = (try? cloud.kumo(["get", "nodes"])) ?? ""
            throw Failure(message: "only \(ready) of \(agents) nodes became Ready; logs in \(dir)\n" + nodes, status: 1)
        }
        guard log(cloud, ["image", "push", "busybox:latest", "--from-busybox"], to: "image-push.log") else {
            throw Failure(message: "pushing the demo image failed; see \(dir)/image-push.log", status: 1)
        }
        return usage(vm: vm ? startVM(cloud) : "  (VM demo skipped: KUMO_NO_VM=1)")
    }

    /// The VM demo: a tiny kernel image (built once from Debian packages, cached) and one small VM booting in the
    /// background under TCG (~6 s). Returns the line that says so.
    private func startVM(_ cloud: LocalCloud) -> String {
        let failed =
            "  (VM demo not started: building the VM images failed, see \(dir)/vm-images.log; run scripts/build-vm-images.sh)"
        let images: VMTestImages.Paths
        do {
            guard let repository else { throw KumoError(.notFound, "scripts/build-vm-images.sh not found") }
            images = try VMTestImages.ensure(repository: repository)
        } catch {
            appendText("\(error)\n", to: dir + "/vm-images.log")
            return failed
        }
        let push = [
            "image", "push", "tiny-vm:latest", "--kernel", images.kernel, "--initrd", images.initrd, "--cmdline",
            images.cmdline, "-q",
        ]
        guard log(cloud, push, to: "image-push.log") else { return failed }
        let project = dir + "/vms-project.yaml"
        do {
            try Data("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: vms}\n".utf8).write(to: URL(fileURLWithPath: project))
            try cloud.kumo(["apply", "-f", project])
            try cloud.kumo(["instance", "create", "vm1", "--image", "tiny-vm:latest", "--memory", "128Mi", "-p", "vms"])
        } catch {
            return "  (VM demo not started: \(error))"
        }
        return "  a VM (vm1, project vms) is booting: kumo get instances -p vms -o wide; kumo describe instance/vm1 -p vms"
    }

    /// Removes everything a run made, whether or not it still runs: for hosts 1–9 the agent (its supervisor,
    /// then the daemon if still there) and its containers, sandboxes, VMs and mounts (`kumo agent reset`); the
    /// server; the namespaces and the root link. `dir` and its logs stay.
    public func down(say: (String) -> Void = { print($0) }) {
        let layout = CloudLayout.makeRun(dir: dir, agents: Self.maxAgents, kumo: kumo, prefix: prefix)
        let pids = SupervisedLauncher(supervisor: supervisor, dir: dir)
        for i in 1...Self.maxAgents {
            let name = "agent-\(i)"
            if stop(pids.supervisorPidFile(name), pids.pidFile(name)) { say("stopped agent \(layout.nodeName(i))") }
            guard FileManager.default.fileExists(atPath: layout.agentDir(i)) else { continue }
            // containers keep running when an agent stops; remove them and their sandboxes for good
            let reset = try? runProgram(layout.agentReset(i))
            appendText((reset?.out ?? "") + (reset?.err ?? ""), to: dir + "/reset.log")
            if reset?.status != 0 { say("kumo agent reset \(layout.nodeName(i)) failed; see \(dir)/reset.log") }
        }
        if stop(pids.supervisorPidFile("server"), pids.pidFile("server")) { say("stopped kumo server") }
        layout.topology.destroy()
    }

    /// Stops the supervisor (it passes SIGTERM on to the daemon), then the daemon if it is still there.
    private func stop(_ supervisorPidFile: String, _ pidFile: String) -> Bool {
        let loop = PidFile.stop(supervisorPidFile)
        let daemon = PidFile.stop(pidFile)
        return loop || daemon
    }

    /// `kumo ARGS` with its output appended to `DIR/file`; whether it succeeded.
    private func log(_ cloud: LocalCloud, _ args: [String], to file: String) -> Bool {
        let r = try? KumoBinary.run(args, env: ["KUMO_CONFIG": cloud.configPath], binary: kumo)
        appendText((r?.out ?? "") + (r?.err ?? ""), to: dir + "/" + file)
        return r?.status == 0
    }

    private func tail(_ path: String, _ lines: Int) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).joined(separator: "\n")
    }

    private func giveToUser(_ path: String) {
        if let user { chown(path, user.uid, user.gid) }
    }

    /// What `make run` prints at the end.
    func usage(vm: String) -> String {
        let t = layout.topology
        let bin = URL(fileURLWithPath: kumo).deletingLastPathComponent().path
        return """
            Kumo is running: a control plane and \(agents) node agents, each in its own network namespace.
              API:          \(layout.serverURL)   (HTTPS; admin token: \(layout.serverDataDir)/admin.token)
              cluster CA:   \(layout.serverDataDir)/ca.crt   (the CLI config and every agent trust only it)
              CLI config:   \(layout.configPath)
              logs:         \(layout.serverLog), \(dir)/agent-N.log
              hosts:        ip netns exec \(t.prefix)hN …   (underlay \(t.network); node-N is 192.0.2.(\(t.block * 16 + 1)+N))
            Try:
              export KUMO_CONFIG=\(layout.configPath) PATH=\(bin):$PATH
              kumo get nodes -o wide
              kumo apply -f examples/project.yaml -f examples/workload.yaml -f examples/service.yaml
              kumo get replicas -p demo -o wide
              ip netns exec \(t.host(1)) curl -s http://10.96.0.80/     # the service VIP, from any host: replies rotate over the replicas
              curl -s http://\(t.hostIP(1)):30080/                   # its external port on node-1's underlay address
              kumo describe service/web -p demo                   # endpoints, each node's HAProxy: sessions, queue, req/min, timings
              kumo state lb/node-1                                # one node's load balancer in full
              kumo logs replica/NAME -p demo
              kumo scale workload/web -p demo --replicas 5
            When something is wrong:
              kumo doctor                                         # every health check, the root causes first
              kumo doctor service/web -p demo                     # why one object is unhealthy
              kumo doctor explain CODE                            # a code's runbook: look-alikes, what to do
              kumo explain dnsmasq                                # one component: its job, what breaks if it dies, live status
            VMs:
            \(vm)
              kumo console instance/vm1 -p vms -f      (serial console)
              kumo state dhcp/node-1                   (the node's dnsmasq: hosts, leases, DHCP counters)
              kumo instance stop|start|reboot|delete vm1 -p vms
            Stop it with: make stop   (run make run again to start afresh)
            """
    }
}
