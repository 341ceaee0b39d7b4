import Foundation
import KumoModel

/// Test-binds TCP listeners in the network namespace HAProxy runs in, before a reload, so a reload that would
/// fail to bind is never attempted: while a new HAProxy retries a bind it cannot get (about 2 s with HAProxy 2.6),
/// the running one has paused its listeners (SIGTTOU), and every VIP of the node refuses connections.
///
/// A probe binds with SO_REUSEADDR only. HAProxy also sets SO_REUSEPORT, so it could share a port with a squatter
/// that set SO_REUSEPORT too; the probe then reports the port busy, which is the intent: a port shared with
/// another program is not served by Kumo. So "free" here implies HAProxy's bind succeeds, never the reverse.
enum BindProbe {
    struct Report: Sendable {
        /// errno of each listener's bind (absent: it bound, so it is free).
        var busy: [Listener: Int32]
        /// The namespace's listening table, read in the same pass (to name who holds a busy port).
        var table: ListenerTable
    }

    /// Probes `listeners` in the named namespace (`/run/netns/<netns>`; nil: the agent's own). Runs on a thread of
    /// its own: `setns` changes the calling thread's namespace only, and that thread ends with the probe.
    static func probe(_ listeners: [Listener], netns: String?) async throws(KumoError) -> Report {
        let result: Result<Report, KumoError> = await withCheckedContinuation { cont in
            let thread = Thread { cont.resume(returning: blockingProbe(listeners, netns: netns)) }
            thread.name = "kumo.lb.bind-probe"
            thread.start()
        }
        return try result.get()
    }

    private static func blockingProbe(_ listeners: [Listener], netns: String?) -> Result<Report, KumoError> {
        if let netns {
            let path = "/run/netns/\(netns)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                return .failure(KumoError(.internal, "failed to open \(path) for the bind probe: \(String(cString: strerror(errno)))"))
            }
            defer { close(fd) }
            guard let setns = setnsFunction(), setns(fd, cloneNewNet) == 0 else {
                return .failure(KumoError(.internal, "failed to enter \(path) for the bind probe: \(String(cString: strerror(errno)))"))
            }
        }
        var busy: [Listener: Int32] = [:]
        for listener in listeners {
            let error = bindError(listener)
            if error != 0 { busy[listener] = error }
        }
        guard let table = ListenerTable.read(dir: "/proc/thread-self/net") else {
            return .failure(KumoError(.internal, "failed to read /proc/thread-self/net/tcp"))
        }
        return .success(Report(busy: busy, table: table))
    }

    /// 0 when `listener` could be bound here now, else the errno (EADDRINUSE, EADDRNOTAVAIL, …). The socket is
    /// closed at once and never listens, so it takes no connection.
    static func bindError(_ listener: Listener) -> Int32 {
        let family = listener.isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var one: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else { return errno }
        let rc: Int32
        if listener.isIPv6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(listener.port).bigEndian)
            guard inet_pton(AF_INET6, listener.address, &addr.sin6_addr) == 1 else { return EINVAL }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(listener.port).bigEndian)
            guard inet_pton(AF_INET, listener.address, &addr.sin_addr) == 1 else { return EINVAL }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        return rc == 0 ? 0 : errno
    }

    /// CLONE_NEWNET (linux/sched.h); Glibc's `setns` and the constant are not imported into Swift.
    private static let cloneNewNet: Int32 = 0x4000_0000

    private typealias SetnsFunction = @convention(c) (Int32, Int32) -> Int32

    private static func setnsFunction() -> SetnsFunction? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            errno = ENOSYS
            return nil
        }
        return unsafeBitCast(symbol, to: SetnsFunction.self)
    }
}
