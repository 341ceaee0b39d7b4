import Foundation
import KumoAPI
import KumoModel
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

    /// Runs `kumo ARGS…` to completion: exit status, stdout, stderr.
    public static func run(_ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> (
        status: Int32, out: String, err: String
    ) {
        try runProgram(path, args, env: env, stdin: stdin)
    }
}

/// Runs a program (absolute path, argv — never a shell) to completion: exit status, stdout, stderr.
func runProgram(_ executable: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> (
    status: Int32, out: String, err: String
) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    // stderr is drained on its own thread while stdout is read here: reading one to its end first deadlocks a
    // program that fills the other pipe's buffer (64 KiB) before it exits
    let errData = Mutex(Data())
    let errDone = DispatchSemaphore(value: 0)
    let errHandle = err.fileHandleForReading
    Thread.detachNewThread {
        let data = errHandle.readDataToEndOfFile()
        errData.withLock { $0 = data }
        errDone.signal()
    }
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    errDone.wait()
    let e = errData.withLock { $0 }
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// A `kumo server` child process on a free loopback port, serving HTTPS with the cluster CA it makes in its data
/// directory (`caPEM`; `admin` trusts it).
public final class ServerProcess: @unchecked Sendable {
    public let dataDir: String
    public let port: Int
    public let host: String
    public let process: Process
    public let log: String
    private let clients = Mutex<[String: KumoClient]>([:])

    public var url: String { "https://\(host):\(port)" }

    /// The cluster CA file (made at the server's first start).
    public var caPath: String { dataDir + "/ca.crt" }
    public var caPEM: String? { try? String(contentsOfFile: caPath, encoding: .utf8) }

    public init(dataDir: String, host: String = "127.0.0.1", port: Int? = nil, extraArguments: [String] = []) throws {
        self.dataDir = dataDir
        self.host = host
        self.port = try port ?? Self.freePort()
        self.log = dataDir + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: KumoBinary.path)
        process.arguments =
            ["server", "--data-dir", dataDir, "--listen", "\(host):\(self.port)", "--log-level", "warning"] + extraArguments
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Waits until `/readyz` answers.
    public func waitReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
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
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public func terminate() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
        process.waitUntilExit()
        return process.terminationStatus
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
