import Foundation
import KumoAPI
import KumoModel
import KumoSystem
import Synchronization

/// The real `kumo` binary (built next to the test bundle or the benchmark), run as a child process with argv arrays.
public enum KumoBinary {
    public static var path: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("kumo").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/kumo"
    }

    /// Runs `kumo ARGS…` (or `binary ARGS…`) to completion: exit status, stdout, stderr.
    public static func run(_ args: [String], env: [String: String] = [:], stdin: String? = nil, binary: String? = nil)
        throws -> (status: Int32, out: String, err: String)
    {
        try runProgram([binary ?? path] + args, env: env, stdin: stdin)
    }
}

/// Runs a program (argv — never a shell) to completion through `Command`: exit status, stdout, stderr.
func runProgram(_ argv: [String], env: [String: String] = [:], stdin: String? = nil) throws -> (
    status: Int32, out: String, err: String
) {
    let r = try Command().runBlocking(argv, environment: env, input: stdin.map { Array($0.utf8) })
    return (r.status, r.stdout, r.stderr)
}

/// A `kumo server` on a free loopback port (or `host:port`), serving HTTPS with the cluster CA it makes in its data
/// directory (`caPEM`; `admin` trusts it). A child of this process, or however `launcher` starts daemons.
public final class ServerProcess: @unchecked Sendable {
    public let dataDir: String
    public let port: Int
    public let host: String
    public let daemon: any Daemon
    public let log: String
    private let clients = Mutex<[String: KumoClient]>([:])

    public var url: String { "https://\(host):\(port)" }

    /// The cluster CA file (made at the server's first start).
    public var caPath: String { dataDir + "/ca.crt" }
    public var caPEM: String? { try? String(contentsOfFile: caPath, encoding: .utf8) }

    public init(
        dataDir: String, host: String = "127.0.0.1", port: Int? = nil, log: String? = nil,
        logLevel: String? = "warning", extraArguments: [String] = [], kumo: String = KumoBinary.path,
        launcher: any DaemonLauncher = ChildLauncher(), truncateLog: Bool = true
    ) throws {
        self.dataDir = dataDir
        self.host = host
        self.port = try port ?? Self.freePort()
        self.log = log ?? dataDir + ".log"
        // the log sits next to the data directory, whose parent may not exist yet (the server makes its data dir)
        try? FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: self.log).deletingLastPathComponent().path, withIntermediateDirectories: true)
        if truncateLog || !FileManager.default.fileExists(atPath: self.log) {
            FileManager.default.createFile(atPath: self.log, contents: nil)
        }
        let argv =
            [kumo, "server", "--data-dir", dataDir, "--listen", "\(host):\(self.port)"]
            + (logLevel.map { ["--log-level", $0] } ?? []) + extraArguments
        daemon = try launcher.launch(DaemonSpec(name: "server", argv: argv, log: self.log, needsRoot: false))
    }

    /// Waits until `/readyz` answers.
    public func waitReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if daemon.hasExited {
                throw KumoError(.unavailable, "kumo server exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            if let ca = caPEM {
                let client = KumoClient(baseURL: url, token: "", caPEM: ca)
                let ready = (try? await client.send(.GET, "/readyz")) != nil
                await client.shutdown()
                if ready { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KumoError(.unavailable, "kumo server not ready after \(timeout)")
    }

    public var adminToken: String {
        ((try? String(contentsOfFile: dataDir + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The admin client: one per token and CA (a restored server may have new ones), so its connections are reused.
    public var admin: KumoClient { client(token: adminToken) }

    /// A client with another token, trusting this server's CA (one per token and CA, kept for this server's life).
    public func client(token: String) -> KumoClient {
        let ca = caPEM
        return clients.withLock { all in
            let key = token + "\u{0}" + (ca ?? "")
            if let c = all[key] { return c }
            let c = KumoClient(baseURL: url, token: token, caPEM: ca)
            all[key] = c
            return c
        }
    }

    public func kill9() {
        daemon.stop(kill9: true)
    }

    /// SIGTERM (a graceful stop); its exit status.
    public func terminate() -> Int32 {
        daemon.stop(kill9: false)
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard ok else { throw KumoError(.internal, "failed to find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

public func tempDir(_ name: String) -> String {
    NSTemporaryDirectory() + "kumo-e2e-\(name)-\(UUID().uuidString.prefix(8))"
}
