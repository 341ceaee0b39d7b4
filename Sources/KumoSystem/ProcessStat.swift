#if canImport(Glibc)
    import Glibc
#endif

/// The fields of `/proc/<pid>/stat` Kumo needs: a process's name, state and parent.
///
/// Liveness checks go through here because a process that has exited stays in /proc as a zombie (`Z`) until its
/// parent reaps it — and the agent, a child subreaper, is the parent of every daemon it started (HAProxy, QEMU,
/// dnsmasq). `kill(pid, 0)` succeeds on a zombie; only the state field tells that it is dead.
public struct ProcessStat: Sendable, Equatable {
    public var pid: Int32
    /// The command name (`comm`, at most 15 bytes), without the parentheses.
    public var name: String
    /// One letter: `R` running, `S` sleeping, `D` disk wait, `Z` zombie, `X` dead, `T` stopped, …
    public var state: Character
    public var ppid: Int32

    public init(pid: Int32, name: String, state: Character, ppid: Int32) {
        self.pid = pid
        self.name = name
        self.state = state
        self.ppid = ppid
    }

    /// Exited: a zombie waiting to be reaped, or already being torn down.
    public var exited: Bool { state == "Z" || state == "X" }

    /// Parses one stat line. The name may contain spaces and parentheses, so the fields after it are found from
    /// the last `)`.
    public static func parse(_ text: String) -> ProcessStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
            let pid = Int32(String(text[..<open].filter { $0 != " " }))
        else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ", maxSplits: 3)
        guard rest.count >= 2, let state = rest[0].first, let ppid = Int32(rest[1]) else { return nil }
        return ProcessStat(pid: pid, name: String(text[text.index(after: open)..<close]), state: state, ppid: ppid)
    }

    /// The stat of `pid`, nil when there is no such process.
    public static func read(_ pid: Int32) -> ProcessStat? {
        guard pid > 0, let text = ProcFile.read("/proc/\(pid)/stat") else { return nil }
        return parse(text)
    }

    /// Exists and has not exited — a zombie counts as dead (it only waits for its parent to collect its status).
    public static func isLive(_ pid: Int32) -> Bool {
        guard let stat = read(pid) else { return false }
        return !stat.exited
    }

    /// Every process whose parent is `parent`, found by reading all of /proc (`/proc/<pid>/task/*/children`
    /// needs CONFIG_PROC_CHILDREN, which not every kernel has).
    public static func children(of parent: Int32) -> [ProcessStat] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var out: [ProcessStat] = []
        while let entry = readdir(dir) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
                let bytes = raw.prefix { $0 != 0 }
                guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
                return Int32(String(decoding: bytes, as: UTF8.self))
            }
            guard let pid, let stat = read(pid), stat.ppid == parent else { continue }
            out.append(stat)
        }
        return out
    }
}
