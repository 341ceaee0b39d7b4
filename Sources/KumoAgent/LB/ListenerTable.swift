import Foundation
import KumoSystem

/// One TCP address a listener binds: `10.96.0.10:80`, `0.0.0.0:30090`, `:::30090` (address as the kernel would
/// print it with inet_ntop, so the same address always compares equal).
struct Listener: Hashable, Sendable, Comparable, CustomStringConvertible {
    var address: String
    var port: Int

    var isIPv6: Bool { address.contains(":") }
    var description: String { isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    static func < (a: Listener, b: Listener) -> Bool { (a.port, a.address) < (b.port, b.address) }

    /// `192.0.2.5:30090`, `:::30090` or `[::1]:80` (HAProxy's log and config spelling): split at the last colon.
    init?(parsing text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var address = String(text[..<colon])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard !address.isEmpty else { return nil }
        self.init(address: address, port: port)
    }

    init(address: String, port: Int) {
        self.address = address
        self.port = port
    }
}

/// The TCP sockets in LISTEN state of one network namespace, read from the kernel's own table
/// (`/proc/<pid>/net/tcp` and `tcp6`: every listener of the namespace `pid` lives in, whoever bound it), each with
/// its socket inode, which `/proc/<pid>/fd` links (`socket:[N]`) tie to the process holding it. That is how the
/// load balancer knows which external ports HAProxy already holds (they need no bind test: a reload takes them
/// over through `-x`), and who holds a port HAProxy cannot have.
struct ListenerTable: Sendable, Equatable {
    struct Row: Sendable, Equatable {
        var listener: Listener
        var inode: UInt64
    }

    var rows: [Row]

    /// TCP state 0x0A is LISTEN (include/net/tcp_states.h).
    static let listenState = "0A"

    /// Parses /proc/net/tcp (`v6: false`) or /proc/net/tcp6 text; keeps LISTEN rows only.
    /// A row: `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …`, where the address is
    /// the kernel's in-memory bytes printed as native-endian 32-bit words (`%08X` per word) and the port is
    /// `%04X` in host order.
    static func parse(_ text: String, v6: Bool) -> [Row] {
        var rows: [Row] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10, fields[3] == listenState else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16), let inode = UInt64(fields[9]),
                let address = decodeAddress(local[0], v6: v6)
            else { continue }
            rows.append(Row(listener: Listener(address: address, port: port), inode: inode))
        }
        return rows
    }

    static func parse(tcp: String, tcp6: String) -> ListenerTable {
        ListenerTable(rows: parse(tcp, v6: false) + parse(tcp6, v6: true))
    }

    private static func decodeAddress(_ hex: Substring, v6: Bool) -> String? {
        let words = v6 ? 4 : 1
        guard hex.count == 8 * words else { return nil }
        var bytes: [UInt8] = []
        var start = hex.startIndex
        for _ in 0..<words {
            let end = hex.index(start, offsetBy: 8)
            guard let word = UInt32(hex[start..<end], radix: 16) else { return nil }
            // the word's bytes in this machine's memory order are the address's bytes in network order
            withUnsafeBytes(of: word) { bytes += $0 }
            start = end
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(v6 ? AF_INET6 : AF_INET, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        return ok ? String(cString: text) : nil
    }

    /// The listening table of the network namespace `pid` is in (nil when the process is gone).
    static func read(netOf pid: Int32) -> ListenerTable? { read(dir: "/proc/\(pid)/net") }

    /// `dir` is a /proc `net` directory: `/proc/<pid>/net`, or `/proc/thread-self/net` for the calling thread's
    /// namespace (`/proc/self/net` would be the main thread's).
    static func read(dir: String) -> ListenerTable? {
        guard let tcp = ProcFile.read(dir + "/tcp") else { return nil }
        // tcp6 is absent when IPv6 is disabled: then there are no IPv6 listeners
        return parse(tcp: tcp, tcp6: ProcFile.read(dir + "/tcp6") ?? "")
    }

    /// Socket inodes among a process's open files (`/proc/<pid>/fd/N -> socket:[inode]`).
    static func socketInodes(pid: Int32) -> Set<UInt64> {
        let dir = "/proc/\(pid)/fd"
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var inodes: Set<UInt64> = []
        for fd in fds {
            if let inode = socketInode(link: dir + "/" + fd) { inodes.insert(inode) }
        }
        return inodes
    }

    private static func socketInode(link: String) -> UInt64? {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink(link, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard target.hasPrefix("socket:["), target.hasSuffix("]") else { return nil }
        return UInt64(target.dropFirst(8).dropLast())
    }

    /// The listeners whose socket is one of `inodes` (a process's: `socketInodes(pid:)`).
    func held(by inodes: Set<UInt64>) -> Set<Listener> {
        Set(rows.filter { inodes.contains($0.inode) }.map(\.listener))
    }

    /// The listening sockets that make a bind of `listener` fail: the same address and port, or a wildcard on the
    /// port — `0.0.0.0`, `::` (a dual-stack IPv6 socket also takes IPv4; /proc does not show IPV6_V6ONLY, so it
    /// is counted), or the IPv4-mapped form of the address.
    func blocking(_ listener: Listener) -> [Row] {
        var addresses: Set<String> = [listener.address, "::"]
        if !listener.isIPv6 {
            addresses.insert("0.0.0.0")
            addresses.insert("::ffff:" + listener.address)
        }
        return rows.filter { $0.listener.port == listener.port && addresses.contains($0.listener.address) }
    }

    /// The process that has socket `inode` open, as `pid N (command line)`, found by scanning /proc/*/fd (socket
    /// inodes are unique across network namespaces). Nil when no process has it (closed since).
    static func holder(of inode: UInt64) -> String? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries.compactMap({ Int32($0) }) where socketInodes(pid: pid).contains(inode) {
            return "pid \(pid) (\(commandLine(pid)))"
        }
        return nil
    }

    /// A process's command line (its name when the command line is empty), shortened for messages.
    static func commandLine(_ pid: Int32) -> String {
        let args = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).split(separator: 0)
            .map { String(decoding: $0, as: UTF8.self) }
        var text = args.joined(separator: " ")
        if text.isEmpty {
            text = (ProcFile.read("/proc/\(pid)/comm") ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return text.count > 80 ? String(text.prefix(80)) + "…" : text
    }
}
