/// One container as `runc state` / `runc list --format json` describe it.
public struct RuncState: Sendable, Equatable, Decodable {
    public enum Status: String, Sendable, Equatable, Decodable {
        case created, running, stopped, paused
        /// `creating` and `pausing` are transient states runc may report; kept distinct from the others.
        case unknown

        public init(from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode(String.self)
            self = Status(rawValue: raw) ?? .unknown
        }
    }

    public var id: String
    /// The container's init process in the host pid namespace; 0 once it has stopped.
    public var pid: Int32
    public var status: Status
    public var bundle: String
    /// RFC 3339 with nanoseconds, as runc prints it.
    public var created: String

    public init(id: String, pid: Int32, status: Status, bundle: String, created: String) {
        self.id = id
        self.pid = pid
        self.status = status
        self.bundle = bundle
        self.created = created
    }
}

/// A snapshot of a container's cgroup usage from `runc events --stats`.
public struct RuncStats: Sendable, Equatable {
    /// Current memory usage (includes page cache, as the v1 memory controller counts it).
    public var memoryUsageBytes: UInt64
    /// The cgroup limit; a huge number (about 2^63) when unlimited.
    public var memoryLimitBytes: UInt64
    /// Highest usage seen.
    public var memoryMaxUsageBytes: UInt64
    /// Times the limit was hit.
    public var memoryFailcnt: UInt64
    /// Total CPU time used, nanoseconds.
    public var cpuUsageNanoseconds: UInt64
    /// CFS periods in which the container was throttled, and the time it spent throttled.
    public var cpuThrottledPeriods: UInt64
    public var cpuThrottledNanoseconds: UInt64
    public var pidsCurrent: UInt64
    /// 0 when unlimited.
    public var pidsLimit: UInt64

    public init(
        memoryUsageBytes: UInt64 = 0, memoryLimitBytes: UInt64 = 0, memoryMaxUsageBytes: UInt64 = 0,
        memoryFailcnt: UInt64 = 0, cpuUsageNanoseconds: UInt64 = 0, cpuThrottledPeriods: UInt64 = 0,
        cpuThrottledNanoseconds: UInt64 = 0, pidsCurrent: UInt64 = 0, pidsLimit: UInt64 = 0
    ) {
        self.memoryUsageBytes = memoryUsageBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.memoryMaxUsageBytes = memoryMaxUsageBytes
        self.memoryFailcnt = memoryFailcnt
        self.cpuUsageNanoseconds = cpuUsageNanoseconds
        self.cpuThrottledPeriods = cpuThrottledPeriods
        self.cpuThrottledNanoseconds = cpuThrottledNanoseconds
        self.pidsCurrent = pidsCurrent
        self.pidsLimit = pidsLimit
    }
}

extension RuncStats {
    /// The shape of `runc events --stats` output (runc's `types.Event`), only the fields Kumo reads.
    struct Event: Decodable {
        var type: String
        var data: Data?

        struct Data: Decodable {
            var cpu: CPU?
            var memory: Memory?
            var pids: Pids?
        }
        struct CPU: Decodable {
            var usage: Usage?
            var throttling: Throttling?
            struct Usage: Decodable { var total: UInt64? }
            struct Throttling: Decodable {
                var throttledPeriods: UInt64?
                var throttledTime: UInt64?
            }
        }
        struct Memory: Decodable {
            var usage: Entry?
            struct Entry: Decodable {
                var limit: UInt64?
                var usage: UInt64?
                var max: UInt64?
                var failcnt: UInt64?
            }
        }
        struct Pids: Decodable {
            var current: UInt64?
            var limit: UInt64?
        }
    }

    init(_ data: Event.Data) {
        self.init(
            memoryUsageBytes: data.memory?.usage?.usage ?? 0, memoryLimitBytes: data.memory?.usage?.limit ?? 0,
            memoryMaxUsageBytes: data.memory?.usage?.max ?? 0, memoryFailcnt: data.memory?.usage?.failcnt ?? 0,
            cpuUsageNanoseconds: data.cpu?.usage?.total ?? 0,
            cpuThrottledPeriods: data.cpu?.throttling?.throttledPeriods ?? 0,
            cpuThrottledNanoseconds: data.cpu?.throttling?.throttledTime ?? 0, pidsCurrent: data.pids?.current ?? 0,
            pidsLimit: data.pids?.limit ?? 0)
    }
}
