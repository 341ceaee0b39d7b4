import Foundation
import KumoAPI
import KumoModel
import Synchronization

/// A real Kumo in network namespaces, like `make run`: a `kumo server` process reached over a veth from the root
/// namespace into an underlay bridge, and `kumo agent` processes each in its own namespace ("host") on that
/// bridge. Every run has its own name prefix and its own /28 of 192.0.2.0/24 (never the first, where this machine's
/// own address and gateway may be), and `tearDown` removes every
/// namespace, link, container, cgroup, mount and process it made — call it in every path (`withCloud`).
public final class LocalCloud: @unchecked Sendable {
    public let prefix: String
    public let block: Int
    /// Holds this cloud's /28 (an exclusive `flock` on a file per block), so concurrent test runs — other
    /// processes, other checkouts — never share addresses; the kernel drops it when the process dies.
    private var blockLock: Int32
    public let dir: String
    public let agentCount: Int
    public private(set) var server: ServerProcess!
    private let agents = Mutex<[Int: Process]>([:])

    private static let counter = Atomic<Int>(0)

    public var serverIP: String { "192.0.2.\(block * 16 + 1)" }
    public func hostIP(_ i: Int) -> String { "192.0.2.\(block * 16 + 1 + i)" }
    public var underlay: String { prefix + "ul" }
    public func host(_ i: Int) -> String { prefix + "h\(i)" }
    public func nodeName(_ i: Int) -> String { prefix + "-n\(i)" }
    public func agentDir(_ i: Int) -> String { dir + "/agent-\(i)" }
    public var configPath: String { dir + "/config" }
    public var admin: KumoClient { server.admin }

    public init(agents: Int) {
        let n = Self.counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let pid = Int(getpid())
        prefix = "k\(String(pid % 1000, radix: 36))\(String(n % 36, radix: 36))"
        // 192.0.2.16/28 … 192.0.2.208/28; make run uses .224/28; never .0/28 (the machine's own eth0 may be
        // 192.0.2.2 with its gateway at .1: the /28 routes are more specific than its /24)
        (block, blockLock) = Self.lockBlock(start: pid + n)
        dir = tempDir("cloud-\(prefix)")
        agentCount = agents
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
        let absolute = argv.first?.hasPrefix("/") == true
        let result = try runProgram(absolute ? argv[0] : "/usr/bin/env", absolute ? Array(argv.dropFirst()) : argv)
        if check && result.0 != 0 {
            throw KumoError(.internal, "\(argv.joined(separator: " ")) failed (\(result.0)): \(result.2)")
        }
        return result
    }

    /// Builds every host but starts agents only on the first `agents` (default: all); others join later with
    /// `startAgent`.
    public func start(agents startCount: Int? = nil) async throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let mask = "/28"
        try Self.sh(["ip", "netns", "add", underlay])
        try Self.sh(["ip", "-n", underlay, "link", "add", "br0", "type", "bridge"])
        try Self.sh(["ip", "-n", underlay, "link", "set", "br0", "up"])
        try Self.sh(["ip", "link", "add", prefix + "0", "type", "veth", "peer", "name", prefix + "0u", "netns", underlay])
        try Self.sh(["ip", "addr", "add", serverIP + mask, "dev", prefix + "0"])
        try Self.sh(["ip", "link", "set", prefix + "0", "up"])
        try Self.sh(["ip", "-n", underlay, "link", "set", prefix + "0u", "master", "br0", "up"])
        for i in 1...agentCount {
            let h = host(i)
            try Self.sh(["ip", "netns", "add", h])
            try Self.sh(["ip", "link", "add", h + "u", "type", "veth", "peer", "name", "eth0", "netns", h])
            try Self.sh(["ip", "link", "set", h + "u", "netns", underlay])
            try Self.sh(["ip", "-n", underlay, "link", "set", h + "u", "master", "br0", "up"])
            try Self.sh(["ip", "-n", h, "addr", "add", hostIP(i) + mask, "dev", "eth0"])
            try Self.sh(["ip", "-n", h, "link", "set", "eth0", "up"])
            try Self.sh(["ip", "-n", h, "link", "set", "lo", "up"])
        }
        server = try ServerProcess(
            dataDir: dir + "/server", host: serverIP, port: 7480, extraArguments: ["--node-grace-seconds", "6"])
        try await server.waitReady()
        let login = try KumoBinary.run(
            ["login", "--server", server.url, "--token-file", server.dataDir + "/admin.token", "--ca", server.caPath],
            env: ["KUMO_CONFIG": configPath])
        guard login.status == 0 else { throw KumoError(.internal, "login failed: \(login.err)") }
        let join = try kumo(["token", "create", "--join", "--quiet"])
        try Data(join.trimmingCharacters(in: .whitespacesAndNewlines).utf8).write(to: URL(fileURLWithPath: dir + "/join.token"))
        let n = startCount ?? agentCount
        for i in stride(from: 1, through: n, by: 1) { try startAgent(i) }
        try await waitForReadyNodes(n)
    }

    /// `kumo ARGS` with this cloud's CLI config; throws on a non-zero exit.
    @discardableResult
    public func kumo(_ args: [String]) throws -> String {
        let r = try KumoBinary.run(args, env: ["KUMO_CONFIG": configPath])
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

    public func startAgent(_ i: Int) throws {
        let log = dir + "/agent-\(i).log"
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        let p = Process()
        // nsenter --net, not `ip netns exec`: the latter gives the agent a private mount namespace, so the pod
        // namespaces it names under /run/netns would vanish with it and a restarted agent could not find them
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        p.arguments = [
            "--net=/run/netns/\(host(i))", KumoBinary.path, "agent", "--server", server.url, "--join-token-file",
            dir + "/join.token", "--name", nodeName(i), "--data-dir", agentDir(i), "--runc-root", agentDir(i) + "/runc",
            "--cpu", "2", "--memory", "1Gi", "--label", "zone=zone-\((i - 1) % 2 + 1)", "--log-level", "info",
        ]
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        agents.withLock { $0[i] = p }
    }

    /// The exit status of agent `i` once it has exited on its own (nil while it runs, or if never started).
    public func agentExitStatus(_ i: Int) -> Int32? {
        guard let p = agents.withLock({ $0[i] }), !p.isRunning else { return nil }
        return p.terminationStatus
    }

    /// The agent's log so far.
    public func agentLog(_ i: Int) -> String {
        (try? String(contentsOfFile: dir + "/agent-\(i).log", encoding: .utf8)) ?? ""
    }

    /// Stops an agent: SIGTERM (graceful; containers keep running) or SIGKILL.
    public func stopAgent(_ i: Int, kill9: Bool = false) {
        guard let p = agents.withLock({ $0.removeValue(forKey: i) }) else { return }
        if p.isRunning { kill(p.processIdentifier, kill9 ? SIGKILL : SIGTERM) }
        p.waitUntilExit()
    }

    public func setLink(_ i: Int, up: Bool) throws {
        try Self.sh(["ip", "-n", underlay, "link", "set", host(i) + "u", up ? "up" : "down"])
    }

    /// Runs a program inside host `i`'s namespace.
    @discardableResult
    public func inHost(_ i: Int, _ argv: [String], check: Bool = false) throws -> (status: Int32, out: String, err: String) {
        try Self.sh(["ip", "netns", "exec", host(i)] + argv, check: check)
    }

    public func waitForReadyNodes(_ n: Int, timeout: Duration = .seconds(60)) async throws {
        try await eventually("\(n) Ready nodes", timeout: timeout) {
            let nodes = try await self.admin.send(.GET, "/api/v1/nodes").json()["items"]?.arrayValue ?? []
            return nodes.filter {
                $0["status"]?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" }?["status"] == "True"
            }.count >= n
        }
    }

    /// Container ids under agent `i`'s runc root (running or not).
    public func containers(_ i: Int) throws -> [String] {
        let r = try Self.sh(["runc", "--root", agentDir(i) + "/runc", "list", "-q"], check: false)
        return r.out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    public func tearDown() {
        for i in 1...agentCount { stopAgent(i, kill9: true) }
        for i in 1...agentCount {
            _ = try? KumoBinary.run([
                "agent", "reset", "--name", nodeName(i), "--data-dir", agentDir(i), "--runc-root", agentDir(i) + "/runc",
            ])
        }
        if server != nil { _ = server.terminate() }
        for i in 1...agentCount { _ = try? Self.sh(["ip", "netns", "del", host(i)], check: false) }
        _ = try? Self.sh(["ip", "netns", "del", underlay], check: false)
        _ = try? Self.sh(["ip", "link", "del", prefix + "0"], check: false)
        try? FileManager.default.removeItem(atPath: dir)
        if blockLock >= 0 { close(blockLock); blockLock = -1 }
    }
}

/// Runs `body` with a started cloud and always tears it down.
public func withCloud(agents: Int = 3, starting: Int? = nil, _ body: (LocalCloud) async throws -> Void) async throws {
    let cloud = LocalCloud(agents: agents)
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

/// Polls `check` until it holds or `timeout` passes (then throws, naming `what`).
public func eventually(_ what: String, timeout: Duration = .seconds(30), _ check: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if try await check() { return }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw KumoError(.internal, "timed out waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

extension KumoClient {
    /// GET of one object as JSON.
    public func get(_ kind: Kind, _ name: String, project: String? = nil) async throws -> JSONValue {
        try await send(.GET, APIPaths.object(kind, project: project, name: name)).json()
    }
}
