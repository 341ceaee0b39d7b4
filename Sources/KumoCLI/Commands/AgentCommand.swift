import ArgumentParser
import Foundation
import KumoAPI
import KumoAgent
import KumoModel
import Logging

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The node agent: `kumo agent run` (the default) or `kumo agent reset`.",
        subcommands: [Run.self, Reset.self], defaultSubcommand: Run.self)
}

extension AgentCommand {
    struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the node agent: register this node and run the replicas bound to it (runc).",
        discussion: """
            Needs root, runc and iproute2. Join once with a join token (`kumo token create --join` on an admin \
            machine); the node token it gets is kept in the data directory, so later starts need no --join-token. \
            Several agents on one machine (tests, `make run`) each need their own network namespace, --name, \
            --data-dir and capacity (--cpu/--memory, so the machine is not counted several times).
            Stops on SIGTERM/SIGINT; its containers keep running and the next agent re-adopts them.             `kumo agent reset` removes them for good.
            """)

    @Option(help: "API server URL, e.g. https://192.0.2.1:7480 (required).")
    var server: String?

    @Option(help: "Cluster CA to trust (PEM) instead of the join token's hash.")
    var ca: String?

    @Option(help: "Join token (only for the first start; the node token is then kept in --data-dir).")
    var joinToken: String?

    @Option(help: "File holding the join token (instead of --join-token, which shows in `ps`).")
    var joinTokenFile: String?

    @Option(help: "Node name (DNS label). Default: the host name.")
    var name: String?

    @Option(help: "Data directory (node token, images, bundles, logs). Default: /var/lib/kumo-agent/NAME.")
    var dataDir: String?

    @Option(help: "CPU capacity to offer, e.g. 2 or 1500m. Default: all cpus of this machine.")
    var cpu: String?

    @Option(help: "Memory capacity to offer, e.g. 4Gi. Default: all memory of this machine.")
    var memory: String?

    @Option(name: .customLong("label"), help: "Node label KEY=VALUE (repeatable), e.g. --label zone=a.")
    var labels: [String] = []

    @Option(help: "Address of the agent's own endpoint (logs, state, metrics), HOST:PORT.")
    var listen = "0.0.0.0:7481"

    @Option(help: "Address the server reaches this agent on. Default: the first non-loopback IPv4 address.")
    var advertiseAddress: String?

    @Option(help: "Node bridge for replica networks.")
    var bridge = "kumo0"

    @Option(help: "MTU of the bridge, veths and VXLAN device. Default: the underlay interface's MTU − 50.")
    var mtu: Int?

    @Option(help: "The cluster's pod network (the server's --cluster-cidr); overlay routes in it are Kumo's.")
    var clusterCIDR = "10.244.0.0/16"

    @Option(help: "runc state directory. Default: /run/kumo/NAME/runc.")
    var runcRoot: String?

    @Option(help: "Service VIPs (the server's --service-cidr); addresses in it on lo are the load balancer's.")
    var serviceCIDR = "10.96.0.0/16"

    @Flag(inversion: .prefixedNo, help: "Serve service names (<service>.<project>.kumo → VIP) from the node's dnsmasq.")
    var serviceDNS = true

    @Option(help: "Seconds a stopping replica waits for every node's HAProxy to stop sending to it before SIGTERM.")
    var drainTimeoutSeconds = 15

    @Option(help: "Seconds between heartbeats.")
    var heartbeatSeconds = 2

    @Option(help: "QEMU accelerator for VMs: auto (KVM when a short probe boot works, else TCG), kvm or tcg.")
    var vmAccel = "auto"

    @Option(help: "Seconds from QEMU start to the guest's DHCP lease before a VM is marked Failed.")
    var vmBootTimeoutSeconds = 90

    @OptionGroup var logging: LogLevelOption

    func validate() throws {
        if let name, let why = Names.validateDNSLabel(name) { throw ValidationError("--name: \(why)") }
        if let cpu { _ = try CPUQuantity(parsing: cpu) }
        if let memory { _ = try MemoryQuantity(parsing: memory) }
        for l in labels where !l.contains("=") { throw ValidationError("--label must be KEY=VALUE, got \"\(l)\"") }
        if let mtu, !(576...9000).contains(mtu) { throw ValidationError("--mtu must be between 576 and 9000") }
        guard IPv4Network(clusterCIDR) != nil else { throw ValidationError("--cluster-cidr must be an IPv4 network like 10.244.0.0/16") }
        guard IPv4Network(serviceCIDR) != nil else { throw ValidationError("--service-cidr must be an IPv4 network like 10.96.0.0/16") }
        guard (0...600).contains(drainTimeoutSeconds) else { throw ValidationError("--drain-timeout-seconds must be between 0 and 600") }
        guard heartbeatSeconds >= 1 else { throw ValidationError("--heartbeat-seconds must be at least 1") }
        guard ["auto", "kvm", "tcg"].contains(vmAccel) else { throw ValidationError("--vm-accel must be auto, kvm or tcg") }
        guard (5...3600).contains(vmBootTimeoutSeconds) else {
            throw ValidationError("--vm-boot-timeout-seconds must be between 5 and 3600")
        }
        _ = try parseListen()
    }

    func parseListen() throws -> (host: String, port: Int) {
        try KumoCLI.parseListen(listen, ports: 1...65535, example: "0.0.0.0:7481")
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "kumo.agent")
        try await runReporting {
            guard let server else { throw KumoError(.invalid, "--server is required: the API server's URL", field: "server") }
            let node = name ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)?.lowercased() ?? "node"
            if let why = Names.validateDNSLabel(node) {
                throw KumoError(.invalid, "the host name \"\(node)\" is not a valid node name (\(why)): pass --name", field: "name")
            }
            var config = AgentConfiguration(server: server, nodeName: node, dataDir: dataDir ?? "/var/lib/kumo-agent/\(node)")
            if let file = joinTokenFile {
                guard let text = SecureFile.readSecret(file) else {
                    throw KumoError(.notFound, "cannot read join token file \(file) (missing or empty)", field: "join-token-file")
                }
                config.joinToken = text
            } else {
                config.joinToken = joinToken
            }
            config.caFile = ca
            if let cpu { config.cpuMillicores = Int(try CPUQuantity(parsing: cpu).millicores) }
            if let memory { config.memoryBytes = try MemoryQuantity(parsing: memory).bytes }
            for l in labels {
                let parts = l.split(separator: "=", maxSplits: 1).map(String.init)
                config.labels[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            let (host, port) = try parseListen()
            config.listenHost = host
            config.listenPort = port
            config.advertiseAddress = advertiseAddress
            config.bridge = bridge
            config.mtu = mtu
            config.clusterCIDR = clusterCIDR
            config.serviceCIDR = serviceCIDR
            config.drainTimeout = .seconds(drainTimeoutSeconds)
            config.serviceDNS = serviceDNS
            if let runcRoot { config.runcRoot = runcRoot }
            config.heartbeatInterval = .seconds(heartbeatSeconds)
            config.leaseDurationSeconds = max(6, heartbeatSeconds * 3)
            config.vmAccel = vmAccel
            config.vmBootTimeout = .seconds(vmBootTimeoutSeconds)
            guard getuid() == 0 else {
                throw KumoError(.forbidden, "the agent needs root (network namespaces, runc, cgroups)")
            }
            let agent = try NodeAgent(config: config, logger: logger)
            try await agent.runUntilSignalled()
        }
    }
    }
}

extension AgentCommand {
    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Remove everything an agent left on this node: containers, their network sandboxes, bundles, logs, HAProxy and service VIPs.",
            discussion: "Run it with the agent stopped. The Node object stays in the API; delete it with `kumo delete node/NAME`.")

        @Option(help: "Node name the agent ran as.") var name: String
        @Option(help: "The agent's data directory. Default: /var/lib/kumo-agent/NAME.") var dataDir: String?
        @Option(help: "The agent's runc root. Default: /run/kumo/NAME/runc.") var runcRoot: String?
        @Option(help: "Node bridge to remove.") var bridge = "kumo0"
        @Option(help: "Service VIPs to remove from lo (the agent's --service-cidr).") var serviceCIDR = "10.96.0.0/16"

        func run() async throws {
            var logger = Logger(label: "kumo.agent")
            logger.logLevel = .warning
            try await runReporting {
                var config = AgentConfiguration(server: "", nodeName: name, dataDir: dataDir ?? "/var/lib/kumo-agent/\(name)")
                if let runcRoot { config.runcRoot = runcRoot }
                config.bridge = bridge
                config.serviceCIDR = serviceCIDR
                let removed = try await NodeAgent.reset(config: config, logger: logger)
                printOut("removed \(removed) container(s) and their sandboxes")
            }
        }
    }
}
