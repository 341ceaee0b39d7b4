import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import Synchronization

/// A real Kumo in network namespaces — an E2E test's, a benchmark's, or `make run`'s (`kumo-local up`): a
/// `kumo server` process reached over a veth from the root namespace into an underlay bridge, and `kumo agent`
/// processes each in its own namespace ("host") on that bridge (`NetnsTopology`). What differs between them is a
/// `CloudLayout` (names, addresses, paths, flags) and a `DaemonLauncher` (children of this process, or each under a
/// detached supervisor). Every test cloud has its own name prefix and its own /28 of 192.0.2.0/24, and `tearDown`
/// removes every namespace, link, container, cgroup, mount and process it made — call it in every path
/// (`withCloud`).
public final class LocalCloud: @unchecked Sendable {
    public let layout: CloudLayout
    public let launcher: any DaemonLauncher
    /// Holds this cloud's /28 (an exclusive `flock` on a file per block), so concurrent test runs — other
    /// processes, other checkouts — never share addresses; the kernel drops it when the process dies.
    private var blockLock: Int32
    public private(set) var server: ServerProcess!
    private let agents = Mutex<[Int: any Daemon]>([:])

    private static let counter = Atomic<Int>(0)

    public var topology: NetnsTopology { layout.topology }
    public var prefix: String { topology.prefix }
    public var block: Int { topology.block }
    public var dir: String { layout.dir }
    public var agentCount: Int { layout.agentCount }
    public var serverIP: String { topology.serverIP }
    public func hostIP(_ i: Int) -> String { topology.hostIP(i) }
    public var underlay: String { topology.underlay }
    public func host(_ i: Int) -> String { topology.host(i) }
    public func nodeName(_ i: Int) -> String { layout.nodeName(i) }
    public func agentDir(_ i: Int) -> String { layout.agentDir(i) }
    public var configPath: String { layout.configPath }
    public var admin: KumoClient { server.admin }

    /// A test cloud of `agents` hosts: a prefix of this process's and a free block of 1–13. `configure` may add
    /// daemon flags (`serverArguments`, `agentArguments`) to the test layout.
    public init(agents: Int, configure: (inout CloudLayout) -> Void = { _ in }) {
        let n = Self.counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let pid = Int(getpid())
        let prefix = "k\(String(pid % 1000, radix: 36))\(String(n % 36, radix: 36))"
        let (block, lock) = Self.lockBlock(start: pid + n)
        var layout = CloudLayout.test(prefix: prefix, block: block, dir: tempDir("cloud-\(prefix)"), agents: agents)
        configure(&layout)
        self.layout = layout
        launcher = ChildLauncher()
        blockLock = lock
    }

    /// A cloud of `layout` whose daemons `launcher` starts (`make run`: `CloudLayout.makeRun`, `SupervisedLauncher`).
    public init(layout: CloudLayout, launcher: any DaemonLauncher) {
        self.layout = layout
        self.launcher = launcher
        blockLock = -1
    }

    /// The first free block of 13, starting at `start % 13`; waits (bounded) when all are taken.
    private static func lockBlock(start: Int) -> (Int, Int32) {
        let dir = "/run/kumo-test-blocks"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for attempt in 0..<600 {
            for k in 0..<13 {
                let b = (start + k) % 13 + 1
                let fd = open("\(dir)/\(b).lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
                guard fd >= 0 else { continue }
                if flock(fd, LOCK_EX | LOCK_NB) == 0 { return (b, fd) }
                close(fd)
            }
            if attempt < 599 { usleep(100_000) }
        }
        return (start % 13 + 1, -1)
    }

    public static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox")
    }

    /// Runs a program to completion (argv, never a shell).
    @discardableResult
    public static func sh(_ argv: [String], check: Bool = true) throws -> (status: Int32, out: String, err: String) {
        let result = try runProgram(argv)
        if check && result.0 != 0 {
            throw KumoError(.internal, "\(argv.joined(separator: " ")) failed (\(result.0)): \(result.2)")
        }
        return result
    }

    /// Builds every host but starts agents only on the first `agents` (default: all); others join later with
    /// `startAgent`.
    public func start(agents startCount: Int? = nil) async throws {
        try await startControlPlane()
        let n = startCount ?? agentCount
        for i in stride(from: 1, through: n, by: 1) { try startAgent(i) }
        try await waitForReadyNodes(n)
    }

    /// Everything but the agents: the hosts and their links, the server (ready), the CLI login (`configPath`) and
    /// the agents' join token (0600).
    public func startControlPlane(serverReadyTimeout: Duration = .seconds(30)) async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try topology.create()
        server = try ServerProcess(
            dataDir: layout.serverDataDir, host: serverIP, port: layout.serverPort, log: layout.serverLog,
            logLevel: layout.serverLogLevel, extraArguments: layout.serverArguments, kumo: layout.kumo,
            launcher: launcher)
        try await server.waitReady(timeout: serverReadyTimeout)
        let login = try KumoBinary.run(
            ["login", "--server", server.url, "--token-file", server.dataDir + "/admin.token", "--ca", server.caPath],
            env: ["KUMO_CONFIG": configPath], binary: layout.kumo)
        guard login.status == 0 else { throw KumoError(.internal, "login failed: \(login.err)") }
        let join = try kumo(["token", "create", "--join", "--quiet"] + (layout.joinTokenName.map { ["--name", $0] } ?? []))
        try Data(join.trimmingCharacters(in: .whitespacesAndNewlines).utf8).write(to: URL(fileURLWithPath: layout.joinTokenPath))
        chmod(layout.joinTokenPath, 0o600)
    }

    /// Stops the server (SIGTERM) and starts it again on the same data directory and address, with the layout's
    /// flags plus `extraArguments` (a test seam such as `--fault-commit-delay-ms`). The agents reconnect by
    /// themselves; the CLI config stays valid (same CA, same admin token).
    public func restartServer(extraArguments: [String] = [], readyTimeout: Duration = .seconds(30)) async throws {
        _ = server.terminate()
        server = try ServerProcess(
            dataDir: layout.serverDataDir, host: serverIP, port: layout.serverPort, log: layout.serverLog,
            logLevel: layout.serverLogLevel, extraArguments: layout.serverArguments + extraArguments, kumo: layout.kumo,
            launcher: launcher, truncateLog: false)
        try await server.waitReady(timeout: readyTimeout)
    }

    /// `kumo ARGS` with this cloud's CLI config; throws on a non-zero exit.
    @discardableResult
    public func kumo(_ args: [String]) throws -> String {
        let r = try KumoBinary.run(args, env: ["KUMO_CONFIG": configPath], binary: layout.kumo)
        guard r.status == 0 else { throw KumoError(.internal, "kumo \(args.joined(separator: " ")) failed: \(r.err)") }
        return r.out
    }

    /// `kumo apply -f` of YAML text (written to a file in the cloud's directory).
    @discardableResult
    public func apply(_ yaml: String) throws -> String {
        let file = dir + "/apply-\(UUID().uuidString.prefix(8)).yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: file))
        return try kumo(["apply", "-f", file])
    }

    /// Starts agent `i` (its log, `agent-i.log`, is appended to).
    public func startAgent(_ i: Int) throws {
        let daemon = try launcher.launch(layout.agent(i))
        agents.withLock { $0[i] = daemon }
    }

    /// The exit status of agent `i` once it has exited on its own (nil while it runs, or if never started).
    public func agentExitStatus(_ i: Int) -> Int32? {
        agents.withLock { $0[i] }?.exitStatus
    }

    /// The agent's log so far.
    public func agentLog(_ i: Int) -> String {
        (try? String(contentsOfFile: dir + "/agent-\(i).log", encoding: .utf8)) ?? ""
    }

    /// Stops an agent: SIGTERM (graceful; containers keep running) or SIGKILL.
    public func stopAgent(_ i: Int, kill9: Bool = false) {
        agents.withLock({ $0.removeValue(forKey: i) })?.stop(kill9: kill9)
    }

    public func setLink(_ i: Int, up: Bool) throws {
        try topology.setLink(i, up: up)
    }

    /// Runs a program inside host `i`'s namespace.
    @discardableResult
    public func inHost(_ i: Int, _ argv: [String], check: Bool = false) throws -> (status: Int32, out: String, err: String) {
        try Self.sh(["ip", "netns", "exec", host(i)] + argv, check: check)
    }

    public func waitForReadyNodes(_ n: Int, timeout: Duration = .seconds(60)) async throws {
        try await eventually("\(n) Ready nodes", timeout: timeout) { try await self.readyNodeCount() >= n }
    }

    /// How many nodes are Ready now.
    public func readyNodeCount() async throws -> Int {
        let nodes = try await admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue ?? []
        return nodes.filter {
            $0["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" }?["status"] == "True"
        }.count
    }

    /// Container ids under agent `i`'s runc root (running or not).
    public func containers(_ i: Int) throws -> [String] {
        let r = try Self.sh(["runc", "--root", agentDir(i) + "/runc", "list", "-q"], check: false)
        return r.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    public func tearDown() {
        for i in 1...agentCount { stopAgent(i, kill9: true) }
        for i in 1...agentCount { _ = try? Self.sh(layout.agentReset(i), check: false) }
        if server != nil { _ = server.terminate() }
        topology.destroy()
        try? FileManager.default.removeItem(atPath: dir)
        if blockLock >= 0 { close(blockLock); blockLock = -1 }
    }
}

/// Runs `body` with a started cloud and always tears it down.
public func withCloud(
    agents: Int = 3, starting: Int? = nil, configure: (inout CloudLayout) -> Void = { _ in }, _ body: (LocalCloud) async throws -> Void
) async throws {
    let cloud = LocalCloud(agents: agents, configure: configure)
    try await tearingDown(cloud) {
        try await cloud.start(agents: starting)
        try await body(cloud)
    }
}

/// Runs `body` with `cloud` and always tears the cloud down — after printing its logs' tails when `body` fails.
public func tearingDown<T>(_ cloud: LocalCloud, _ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        cloud.tearDown()
        return value
    } catch {
        cloud.dumpLogs()
        cloud.tearDown()
        throw error
    }
}

extension LocalCloud {
    /// On failure: the tails of the server and agent logs, to see why.
    public func dumpLogs() {
        for file in ["server.log"] + (1...agentCount).map({ "agent-\($0).log" }) {
            let path = file == "server.log" ? (server?.log ?? "") : dir + "/" + file
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            print("---- \(file) (last lines) ----\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
        }
    }
}

extension KumoClient {
    /// GET of one object as JSON.
    public func get(_ kind: Kind, _ name: String, project: String? = nil) async throws -> JSONValue {
        try await send(.GET, APIPaths.object(kind, project: project, name: name)).json()
    }
}
