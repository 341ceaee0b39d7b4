import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KumoAPI
import KumoModel
import KumoSystem
import Logging
import ServiceLifecycle
import Synchronization

/// `kumo agent`: one per node. Joins (join token → node token), registers the Node, heartbeats through its
/// lease, sets up the node bridge, and runs the replicas bound to it. On shutdown its containers keep running;
/// the next agent re-adopts them.
public final class NodeAgent: ServiceLifecycle.Service, Sendable {
    public let config: AgentConfiguration
    let logger: Logger
    let metrics = AgentMetrics()
    let driver: RuncSandboxDriver
    let started = Mutex<Started?>(nil)
    let credential = Mutex<String?>(nil)
    /// Why registration is still waiting (nil once registered): shown in `kumo state agent/<node>`.
    let registrationWait = Mutex<String?>(nil)
    let startedAt = Timestamp.now()

    struct Started: Sendable {
        var api: AgentAPI
        var supervisor: ReplicaSupervisor
        var heartbeat: LeaseHeartbeat
        var reporter: StatusReporter
        var images: ImageStore
        var subnet: IPv4Network
        var agentURL: String
        var overlay: OverlayManager
        var loadBalancer: LoadBalancerManager
        var dnsmasq: DnsmasqSupervisor
        var instances: InstanceSupervisor
        var health: HealthReporter
    }

    public init(config: AgentConfiguration, logger: Logger) throws(KumoError) {
        self.config = config
        self.logger = logger
        for dir in [config.dataDir, config.recordsDir, config.imagesDir, config.bundlesDir, config.logsDir, config.vmsDir] {
            do {
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw KumoError(.internal, "failed to create \(dir): \(error)", cause: error)
            }
        }
        self.driver = try RuncSandboxDriver(config: config, logger: logger.with(label: "kumo.runtime"))
    }

    var serverCredential: String? { credential.withLock { $0 } }
    var supervisor: ReplicaSupervisor? { started.withLock { $0?.supervisor } }
    var loadBalancer: LoadBalancerManager? { started.withLock { $0?.loadBalancer } }
    /// The node's dnsmasq (DHCP for VMs, DNS for service names), once the agent has registered.
    public var dnsmasq: DnsmasqSupervisor? { started.withLock { $0?.dnsmasq } }
    var instances: InstanceSupervisor? { started.withLock { $0?.instances } }

    public func run() async throws {
        let address = config.advertiseAddress ?? HostAddresses.primaryIPv4() ?? "127.0.0.1"
        let token = try await nodeToken(address: address)
        let caPEM = try? String(contentsOfFile: config.caPath, encoding: .utf8)
        if config.server.hasPrefix("https://") && caPEM == nil {
            throw KumoError(
                .unauthorized,
                "no cluster CA in \(config.caPath) (this node joined before TLS): run `kumo agent reset` and join again")
        }
        let client = KumoClient(baseURL: config.server, token: token, caPEM: caPEM)
        let api = AgentAPI(client: client, node: config.nodeName)
        let tls = try AgentTLS.serverConfiguration(config: config, caPEM: caPEM)
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(120)))
        let server: HTTPServerBuilder
        if let tls { server = try .tls(http1, tlsConfiguration: tls) } else { server = http1 }
        let endpoint = Application(
            responder: AgentEndpoint(agent: self),
            server: server,
            configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: "kumo-agent"),
            logger: logger.with(label: "kumo.agent.http"))
        let agentURL = "\(tls == nil ? "http" : "https")://\(address):\(config.listenPort)"
        let subnet = try await register(api: api, agentURL: agentURL, address: address)
        let underlay = try await Underlay.find(address: address, hostNetns: config.hostNetns)
        let mtu = config.mtu ?? (underlay.mtu - 50)
        try await driver.prepareNode(subnet: subnet, mtu: mtu)
        guard let cluster = IPv4Network(config.clusterCIDR), let publicIP = IPv4Address(address) else {
            throw KumoError(.invalid, "bad --cluster-cidr \(config.clusterCIDR) or address \(address)", field: "cluster-cidr")
        }
        let overlay = try OverlayManager(
            api: api, node: config.nodeName, subnet: subnet, cluster: cluster, publicIP: publicIP,
            underlayDevice: underlay.device, mtu: mtu, hostNetns: config.hostNetns, interval: config.overlayResync,
            metrics: metrics, logger: logger.with(label: "kumo.overlay"))
        guard let serviceCIDR = IPv4Network(config.serviceCIDR) else {
            throw KumoError(.invalid, "bad --service-cidr \(config.serviceCIDR)", field: "service-cidr")
        }
        let loadBalancer = LoadBalancerManager(
            api: api, node: config.nodeName, nodeAddress: address, serviceCIDR: serviceCIDR, hostNetns: config.hostNetns,
            dir: config.haproxyDir, drainTimeout: config.drainTimeout, logger: logger.with(label: "kumo.lb"))
        let dnsmasq = try DnsmasqSupervisor(
            config: DnsmasqConfig(
                interface: config.bridge, subnet: subnet, mtu: mtu, dnsEnabled: config.serviceDNS, directory: config.dnsmasqDir),
            hostNetns: config.hostNetns, logMaxBytes: config.dnsmasqLogMaxBytes, logger: logger.with(label: "kumo.dnsmasq"))
        await dnsmasq.startSupervised()
        if config.serviceDNS {
            loadBalancer.onRecords { records in
                do { try await dnsmasq.setDNSRecords(records) } catch {
                    self.logger.warning("failed to update service DNS records", metadata: ["error": "\(error)"])
                }
            }
        }
        let images = ImageStore(
            directory: config.imagesDir, source: APIImageSource(client: client), command: Command(),
            logger: logger.with(label: "kumo.images"))
        let vmLogger = logger.with(label: "kumo.vms")
        let accel = AccelProbe(
            mode: AccelProbe.Mode(rawValue: config.vmAccel) ?? .auto, cacheFile: config.accelProbeFile,
            workDir: config.accelProbeDir, logger: vmLogger)
        let instances = InstanceSupervisor(
            context: VMContext(
                api: api, driver: VMDriver(hostNetns: config.hostNetns, bridge: config.bridge, mtu: mtu, logger: vmLogger),
                images: VMImageStore(directory: config.imagesDir + "/vm", source: APIImageSource(client: client), logger: vmLogger),
                dnsmasq: dnsmasq, accel: accel, node: config.nodeName, vmsDir: config.vmsDir, bootTimeout: config.vmBootTimeout,
                stopTimeout: config.vmStopTimeout, logger: vmLogger))
        let reporter = StatusReporter(api: api, logger: logger.with(label: "kumo.status"))
        let probeHTTP = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(timeout: .init(connect: .seconds(1), read: .seconds(2))))
        let context = RunnerContext(
            api: api, driver: driver, images: StoreImageProvider(store: images), reporter: reporter,
            probes: ProbeChecker(driver: driver, http: probeHTTP), metrics: metrics, namer: SandboxNamer(),
            subnet: subnet, recordsDir: config.recordsDir,
            backoff: .init(base: config.backoffBase, cap: config.backoffCap, reset: config.backoffReset),
            exitPollInterval: config.exitPollInterval, defaultGracePeriodSeconds: config.defaultGracePeriodSeconds,
            beforeStop: { replica in await loadBalancer.drain(replica) }, logger: logger.with(label: "kumo.replicas"))
        let supervisor = ReplicaSupervisor(context: context, node: config.nodeName, logger: logger.with(label: "kumo.replicas"))
        let health = HealthReporter(
            sources: .init(
                api: api, dnsmasq: dnsmasq, loadBalancer: loadBalancer, overlay: overlay, accel: accel, replicas: supervisor),
            settings: .init(
                node: config.nodeName, interval: config.healthReportInterval, hostNetns: config.hostNetns,
                dataDir: config.dataDir, certificatePath: config.agentCertPath, overlayMTU: mtu),
            logger: logger.with(label: "kumo.health"))
        let heartbeat = LeaseHeartbeat(
            api: api, interval: config.heartbeatInterval, durationSeconds: config.leaseDurationSeconds,
            appliedRevision: { loadBalancer.appliedRevision }, logger: logger.with(label: "kumo.heartbeat"))
        started.withLock {
            $0 = Started(
                api: api, supervisor: supervisor, heartbeat: heartbeat, reporter: reporter, images: images,
                subnet: subnet, agentURL: agentURL, overlay: overlay, loadBalancer: loadBalancer, dnsmasq: dnsmasq,
                instances: instances, health: health)
        }
        logger.notice(
            "kumo agent running",
            metadata: ["node": "\(config.nodeName)", "subnet": "\(subnet)", "endpoint": "\(agentURL)", "server": "\(config.server)"])
        // every loop runs until the agent stops; the endpoint is the exception that ends the agent: without it the
        // server can neither proxy logs, consoles and state nor check the agent, and a half-alive agent that keeps
        // heartbeating would hide that. Its failure stops the agent with a clear error (the supervisor restarts it).
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeat.run() }
            group.addTask { await reporter.run() }
            group.addTask { await supervisor.run() }
            group.addTask { await loadBalancer.run() }
            group.addTask { await dnsmasq.run() }
            group.addTask { await accel.run() }
            group.addTask { await instances.run() }
            group.addTask { await health.run() }
            // orphans re-parented to the agent (old HAProxies, QEMU's and dnsmasq's daemonize forks, probes of
            // killed `runc exec`s) are reaped here; without it each stays a zombie
            group.addTask { await self.driver.reaper.run(every: .seconds(1)) }
            group.addTask {
                await overlay.publish(reason: "initial")
                await overlay.run()
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(60))
                    _ = await images.collectGarbage(inUse: supervisor.imagesInUse(), olderThan: self.config.imageGCAge)
                }
            }
            group.addTask {
                do {
                    try await endpoint.runService()
                } catch {
                    throw KumoError(
                        .unavailable,
                        "the agent endpoint on \(self.config.listenHost):\(self.config.listenPort) failed: \(error); the agent "
                            + "stops (the server reaches it there for logs, consoles, state and load-balancer figures)",
                        field: "listen", cause: error)
                }
                if !Task.isCancelled, !Task.isShuttingDownGracefully {
                    throw KumoError(.unavailable, "the agent endpoint stopped serving; the agent stops", field: "listen")
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                throw AgentStopping()
            }
            do {
                while try await group.next() != nil {}
            } catch is AgentStopping {
                logger.notice("kumo agent stopping; containers and dnsmasq keep running")
                reporter.finish()
                group.cancelAll()
            } catch {
                logger.error("kumo agent failed; stopping", metadata: ["error": "\(error)"])
                reporter.finish()
                group.cancelAll()
                throw error
            }
        }
        try? await probeHTTP.shutdown()
    }

    /// Runs the agent until SIGTERM/SIGINT (`kumo agent`).
    public func runUntilSignalled() async throws {
        let group = ServiceGroup(
            configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Ends the agent's task group when a graceful shutdown begins (SIGTERM, or the service group stopping).
private struct AgentStopping: Error {}
