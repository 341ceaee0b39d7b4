import Foundation
import KumoModel

#if canImport(Glibc)
    import Glibc
#endif

/// dnsmasq's liveness by an answer: one real DNS query over UDP (built by hand: 12-byte header, QNAME, QTYPE A,
/// QCLASS IN). Any answer with the query's id counts — NXDOMAIN included: a stopped (SIGSTOP) or hung dnsmasq
/// keeps its pid and its socket, and only the missing answer tells.
enum DNSProbe {
    /// The header of an answer to our query.
    struct Answer: Sendable, Equatable {
        /// 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, …
        var rcode: Int
        var answers: Int

        var rcodeName: String {
            switch rcode {
            case 0: "NOERROR"
            case 1: "FORMERR"
            case 2: "SERVFAIL"
            case 3: "NXDOMAIN"
            case 4: "NOTIMP"
            case 5: "REFUSED"
            default: "RCODE \(rcode)"
            }
        }
    }

    /// A standard query (recursion desired) for the A record of `name`; nil for a name that cannot be encoded
    /// (empty label, label over 63 bytes, name over 253).
    static func query(id: UInt16, name: String) -> [UInt8]? {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty, trimmed.utf8.count <= 253 else { return nil }
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let utf8 = Array(label.utf8)
            guard !utf8.isEmpty, utf8.count <= 63 else { return nil }
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes += [0, 0, 1, 0, 1]  // root, QTYPE A, QCLASS IN
        return bytes
    }

    /// The answer's header when `packet` is a response (QR set) to query `id`; nil for anything else.
    static func parseAnswer(_ packet: [UInt8], id: UInt16) -> Answer? {
        guard packet.count >= 12, UInt16(packet[0]) << 8 | UInt16(packet[1]) == id, packet[2] & 0x80 != 0 else {
            return nil
        }
        return Answer(rcode: Int(packet[3] & 0x0f), answers: Int(UInt16(packet[6]) << 8 | UInt16(packet[7])))
    }

    /// Asks `server:port` for `name` from inside `netns` (nil: the agent's namespace); an answer within `timeout`,
    /// else why not (timeout, refused, no route).
    static func ask(
        server: String, port: UInt16 = 53, name: String, timeout: Duration = .seconds(1), netns: String? = nil
    ) async -> Result<Answer, HealthProbeError> {
        let id = UInt16.random(in: 1...UInt16.max)
        guard let packet = query(id: id, name: name) else { return .failure(HealthProbeError("cannot encode the name \(name)")) }
        let outcome = await Deadline.run(timeout + .milliseconds(500)) {
            await NetnsThread.run(netns: netns, name: "kumo.health.dns") {
                blockingAsk(server: server, port: port, packet: packet, id: id, timeout: timeout)
            }
        }
        return outcome ?? .failure(HealthProbeError("no DNS answer from \(server):\(port) within \(timeout.shortDescription)"))
    }

    static func blockingAsk(server: String, port: UInt16, packet: [UInt8], id: UInt16, timeout: Duration) -> Result<Answer, HealthProbeError> {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(HealthProbeError("failed to create a UDP socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(port.bigEndian)
        guard inet_pton(AF_INET, server, &addr.sin_addr) == 1 else { return .failure(HealthProbeError("bad DNS server address \(server)")) }
        // connected: an ICMP port-unreachable comes back as ECONNREFUSED instead of a silent timeout
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return .failure(HealthProbeError("cannot reach \(server):\(port): \(String(cString: strerror(errno)))")) }
        let sent = packet.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == packet.count else {
            return .failure(HealthProbeError("failed to send a DNS query to \(server):\(port): \(String(cString: strerror(errno)))"))
        }
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            let (s, atto) = left.components
            var tv = timeval(tv_sec: Int(s), tv_usec: max(1, Int(atto / 1_000_000_000_000)))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return .failure(HealthProbeError("no DNS answer from \(server):\(port): \(String(cString: strerror(errno)))"))
            }
            if let answer = parseAnswer(Array(buffer[0..<n]), id: id) { return .success(answer) }
        }
        return .failure(HealthProbeError("no DNS answer from \(server):\(port) within \(timeout.shortDescription)"))
    }
}
