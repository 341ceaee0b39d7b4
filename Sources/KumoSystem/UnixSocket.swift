import Foundation
import KumoModel

/// A blocking client connection to a unix stream socket with send and receive timeouts — for the short control
/// exchanges the agent has with the programs it runs (HAProxy's Runtime API, QEMU's QMP).
public enum UnixSocket {
    /// A connected descriptor (the caller closes it); `what` names the peer in errors.
    public static func connect(path: String, timeout: Duration, what: String) throws(KumoError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw KumoError(.internal, "failed to create a unix socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw KumoError(.invalid, "\(what) socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw KumoError(.unavailable, "failed to reach \(what) at \(path): \(why)")
        }
        return fd
    }
}
