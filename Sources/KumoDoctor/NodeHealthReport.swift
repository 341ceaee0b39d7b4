/// What only a node's agent can see, measured by it and sent to the server (`POST /api/v1/nodes/NAME/health`)
/// every few seconds. The judging is done by the server's checks, not here.
public struct NodeHealthReport: Codable, Sendable, Equatable {
    public var node: String
    /// The agent's clock when it measured (RFC 3339): the server compares it with its own (skew).
    public var time: String
    /// When the server received it (set by the server).
    public var receivedAt: String?
    public var dnsmasq: DaemonHealth?
    public var haproxy: DaemonHealth?
    public var dhcp: DHCPFacts?
    public var peers: [PeerProbe]?
    public var overlay: OverlayFacts?
    public var loadBalancer: [BackendHealth]?
    public var host: HostFacts?
    /// The agent's own certificate.
    public var certificateNotAfter: String?
    /// `project/replica` → the last line its container wrote, for replicas that exited and wait to restart.
    public var lastLogLines: [String: String]?

    public init(node: String, time: String) {
        self.node = node
        self.time = time
    }
}

/// A daemon's liveness by an answer, not a pid: a stopped (SIGSTOP) or hung process keeps its pid and sockets.
public struct DaemonHealth: Codable, Sendable, Equatable {
    /// The process exists (and is not a zombie).
    public var running: Bool
    public var pid: Int?
    /// It answered a real request (a DNS query; HAProxy's `show info`) within the deadline.
    public var answering: Bool
    /// Why it did not answer, or the last start or reload error.
    public var error: String?
    public var restarts: Int?
    /// The last configuration load failed: the message.
    public var lastReloadError: String?
    /// Ports it should listen on that another program holds: `port` → holder (`pid 812 (nc)` when known).
    public var portsHeld: [String: String]?

    public init(running: Bool, pid: Int? = nil, answering: Bool, error: String? = nil) {
        self.running = running
        self.pid = pid
        self.answering = answering
        self.error = error
    }
}

/// DHCP as dnsmasq logged it (`--log-dhcp`), counted by MAC over the agent's window.
public struct DHCPFacts: Codable, Sendable, Equatable {
    public var hosts: Int
    public var leases: Int
    /// Refusals: `DHCPNAK` lines and `no address available` lines, by MAC and reason.
    public var refusals: [DHCPRefusal]
    /// The window the counts cover, in seconds.
    public var windowSeconds: Double

    public init(hosts: Int, leases: Int, refusals: [DHCPRefusal], windowSeconds: Double) {
        self.hosts = hosts
        self.leases = leases
        self.refusals = refusals
        self.windowSeconds = windowSeconds
    }
}

public struct DHCPRefusal: Codable, Sendable, Equatable {
    public var mac: String
    /// `DHCPNAK` or `no address available`.
    public var kind: String
    /// dnsmasq's reason text (`wrong address`, `lease not found`, …), when it gives one.
    public var reason: String?
    public var count: Int
    /// The last such log line, as dnsmasq wrote it.
    public var lastLine: String
    public var lastTime: String?

    public init(mac: String, kind: String, reason: String? = nil, count: Int, lastLine: String, lastTime: String? = nil) {
        self.mac = mac
        self.kind = kind
        self.reason = reason
        self.count = count
        self.lastLine = lastLine
        self.lastTime = lastTime
    }
}

/// One probe of a peer node across the underlay.
public struct PeerProbe: Codable, Sendable, Equatable {
    public var node: String
    public var address: String
    /// A small packet got an answer.
    public var reachable: Bool
    /// A don't-fragment packet of the overlay's full size got an answer (nil: not measured).
    public var fullSizeReachable: Bool?
    /// The size the full-size probe used (the overlay MTU plus VXLAN overhead).
    public var probeBytes: Int?
    public var rttMs: Double?
    public var error: String?

    public init(node: String, address: String, reachable: Bool, fullSizeReachable: Bool? = nil, probeBytes: Int? = nil, rttMs: Double? = nil, error: String? = nil) {
        self.node = node
        self.address = address
        self.reachable = reachable
        self.fullSizeReachable = fullSizeReachable
        self.probeBytes = probeBytes
        self.rttMs = rttMs
        self.error = error
    }
}

/// The node's VXLAN programming against what the API says.
public struct OverlayFacts: Codable, Sendable, Equatable {
    public var peersExpected: Int
    public var peersProgrammed: Int
    /// Peers whose overlay data is missing in the API (their last entries kept).
    public var peersDataMissing: [String]
    /// Kernel entries expected but absent, as `kind target` lines (`fdb 02:ab:… dst 192.0.2.3`).
    public var missingEntries: [String]

    public init(peersExpected: Int, peersProgrammed: Int, peersDataMissing: [String] = [], missingEntries: [String] = []) {
        self.peersExpected = peersExpected
        self.peersProgrammed = peersProgrammed
        self.peersDataMissing = peersDataMissing
        self.missingEntries = missingEntries
    }
}

/// One service's backend in this node's HAProxy.
public struct BackendHealth: Codable, Sendable, Equatable {
    /// `project/service`.
    public var service: String
    public var serversUp: Int
    public var serversTotal: Int
    /// HAProxy's `check_status` of a down server (`L4CON`, `L7STS`, …) and its `last_chk` text.
    public var checkStatus: String?
    public var queued: Int?
    public var errorsPerMinute: Double?

    public init(service: String, serversUp: Int, serversTotal: Int, checkStatus: String? = nil) {
        self.service = service
        self.serversUp = serversUp
        self.serversTotal = serversTotal
        self.checkStatus = checkStatus
    }
}

/// The machine.
public struct HostFacts: Codable, Sendable, Equatable {
    /// `/dev/kvm` usable; nil: not checked.
    public var kvm: Bool?
    public var kvmReason: String?
    /// The agent's data directory's file system.
    public var diskPath: String?
    public var diskFreeBytes: Int64?
    public var diskTotalBytes: Int64?

    public init(kvm: Bool? = nil, kvmReason: String? = nil) {
        self.kvm = kvm
        self.kvmReason = kvmReason
    }
}
