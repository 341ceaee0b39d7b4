import Foundation
import KumoSystem
import Synchronization

@testable import KumoAgent

/// A throwaway network namespace for the load-balancer tests against the real HAProxy (root): `address` on its
/// loopback, `busybox httpd` serving "hello from kumo\n" on 127.0.0.1:18080 (the backend every test service
/// points at), `dir` for HAProxy's files, and `curl` from inside. `tearDown` is synchronous, for a `defer`: it
/// kills what `spawn` started and every HAProxy of `dir`, deletes the namespace and removes the directories.
///
///     let host = LBTestHost(prefix: "klb", label: "lb", address: Self.vip)
///     defer { host.tearDown() }
///     try await host.start()
final class LBTestHost: Sendable {
    /// `PREFIX` + this process's id (each suite its own prefix, so suites may run side by side).
    let ns: String
    /// HAProxy's directory; the backend's files are in `dir-www`.
    let dir: String
    let address: String
    private let children = Mutex<[ChildProcess]>([])

    var www: String { dir + "-www" }

    init(prefix: String, label: String, address: String) {
        ns = "\(prefix)\(getpid() % 100000)"
        dir = NSTemporaryDirectory() + "kumo-\(label)-\(ns)"
        self.address = address
    }

    /// The namespace with `address` on its loopback, and the backend serving.
    func start() async throws {
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try Data("hello from kumo\n".utf8).write(to: URL(fileURLWithPath: www + "/index.html"))
        _ = try await sh(["ip", "netns", "add", ns])
        _ = try await sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        _ = try await sh(["ip", "-n", ns, "addr", "add", address + "/32", "dev", "lo"])
        _ = try spawn(["busybox", "httpd", "-f", "-p", "127.0.0.1:18080", "-h", www])
    }

    /// Starts `argv` inside the namespace (output discarded); `tearDown` kills it if it still runs. Through
    /// `Command.spawn` (posix_spawn), not Foundation's `Process`, whose `run()` once crashed copying the environment
    /// while parallel tests spawned.
    func spawn(_ argv: [String]) throws -> ChildProcess {
        let p = try Command().spawn(["/usr/bin/nsenter", "--net=/run/netns/\(ns)"] + argv)
        children.withLock { $0.append(p) }
        return p
    }

    func sh(_ argv: [String]) async throws -> CommandResult { try await Command().run(argv) }

    /// An HTTP GET of `target` (`IP` or `IP:PORT`) from inside the namespace, 2 s at most.
    func curl(_ target: String) async throws -> CommandResult {
        try await sh(["ip", "netns", "exec", ns, "curl", "-sS", "-f", "--max-time", "2", "http://\(target)/"])
    }

    func tearDown() {
        for p in children.withLock({ $0 }) where p.isRunning {
            p.signal(SIGKILL)
            _ = p.waitUntilExit()
        }
        for pid in HAProxySupervisor.processes(config: dir + "/haproxy.cfg") { kill(pid, SIGKILL) }
        _ = try? Command().runBlocking(["ip", "netns", "del", ns])
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: www)
    }
}
