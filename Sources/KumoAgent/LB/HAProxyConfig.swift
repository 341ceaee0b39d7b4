import KumoModel

/// The node's haproxy.cfg, rendered from the services this node serves: the single source of truth for HAProxy
/// (DATAPATH.md: `add server` is lost on reload, so every change is a render + `haproxy -c` + hitless reload).
/// Pure and deterministic: the same input renders the same bytes (golden tests).
///
/// Per service port: a frontend bound to VIP:port (and to the node's underlay address on the external port), and
/// a backend with one `server` line per endpoint, named after its replica. HTTP ports run in mode http (request
/// metrics; a failed connect or an empty/broken response is retried on another server: `retries` + `option
/// redispatch` + `retry-on`); TCP ports in mode tcp (connect failures retried). A backend without servers answers
/// 503 (HTTP) or closes (TCP).
///
/// Confinement: with `chroot` and `uid`/`gid`, HAProxy binds its sockets (and creates the admin socket) as root,
/// then chroots into an empty directory and drops to that user. Nothing here opens a path at run time (no `log
/// /dev/log`, no `unix@` servers, no Lua), which is what a chroot would break.
struct HAProxyConfig: Sendable, Equatable {
    var node: String
    /// Runtime API socket (`level admin expose-fd listeners`, which the `-x` reload needs).
    var adminSocket: String
    /// A listener that always exists (HAProxy refuses to run without any), used to check liveness.
    var aliveSocket: String
    /// The node's underlay address (external ports bind here).
    var nodeAddress: String?
    var services: [LBService]
    /// External ports left out on this node because something else holds them (`LoadBalancerManager`'s bind
    /// probe): rendered as a comment instead of the bind, since one bind that fails fails the whole reload.
    var withheldExternalPorts: Set<Int> = []
    /// An empty directory HAProxy chroots into after binding (nil: no chroot).
    var chroot: String? = nil
    /// The unprivileged user and group HAProxy runs as after binding (nil: stays root).
    var uid: Int? = nil
    var gid: Int? = nil
    var retries = 3
    /// Global connection limit; nil: HAProxy derives it from the file descriptor limit it may raise to.
    var maxconn: Int? = nil
    var connectTimeoutMs = 1_000
    var queueTimeoutMs = 10_000
    var clientTimeoutMs = 60_000
    var serverTimeoutMs = 60_000

    func render() -> String {
        var out: [String] = []
        out.append("# rendered by the kumo agent of node \(node); do not edit (changes are overwritten)")
        out.append("global")
        out.append("    stats socket \(adminSocket) mode 600 level admin expose-fd listeners")
        if let chroot { out.append("    chroot \(chroot)") }
        if let uid { out.append("    uid \(uid)") }
        if let gid { out.append("    gid \(gid)") }
        if let maxconn { out.append("    maxconn \(maxconn)") }
        out.append("    hard-stop-after 30s")
        out.append("")
        out.append("defaults")
        out.append("    timeout connect \(connectTimeoutMs)ms")
        out.append("    timeout client \(clientTimeoutMs)ms")
        out.append("    timeout server \(serverTimeoutMs)ms")
        out.append("    timeout queue \(queueTimeoutMs)ms")
        out.append("    timeout http-request 10s")
        out.append("    timeout http-keep-alive 10s")
        out.append("    retries \(retries)")
        out.append("    option redispatch 1")
        out.append("")
        out.append("frontend kumo.alive")
        out.append("    mode http")
        out.append("    bind unix@\(aliveSocket)")
        out.append("    http-request return status 200 content-type text/plain string ok")
        for service in services.sorted(by: { $0.key < $1.key }) {
            for port in service.ports.sorted(by: { $0.port < $1.port }) {
                out.append("")
                out += renderPort(service, port)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The external port bound on `port`'s frontend (the external's `servicePort`, default the first port).
    static func externalPort(_ s: LBService, _ port: ServicePort) -> Int? {
        s.external.flatMap { e in (e.servicePort ?? s.ports.first?.port) == port.port ? e.port : nil }
    }

    /// Every external listener the services ask for on this node (withheld or not), with its service's key.
    func externalListeners() -> [Listener: String] {
        guard let nodeAddress else { return [:] }
        var out: [Listener: String] = [:]
        for s in services {
            for port in s.ports {
                if let external = Self.externalPort(s, port) { out[Listener(address: nodeAddress, port: external)] = s.key }
            }
        }
        return out
    }

    /// The TCP listeners HAProxy must hold once this config runs: every VIP port and every external port not
    /// withheld. Checked against the kernel's table after each load before a generation is published.
    func expectedListeners() -> Set<Listener> {
        var out: Set<Listener> = []
        for s in services {
            for port in s.ports { out.insert(Listener(address: s.vip, port: port.port)) }
        }
        for listener in externalListeners().keys where !withheldExternalPorts.contains(listener.port) { out.insert(listener) }
        return out
    }

    private func renderPort(_ s: LBService, _ port: ServicePort) -> [String] {
        let http = port.protocol == .http
        let mode = http ? "http" : "tcp"
        let name = s.proxyName(port)
        var out: [String] = []
        out.append("# service \(s.key) port \(port.port) generation \(s.generation): \(s.endpoints.count) endpoint(s)")
        out.append("frontend \(name)")
        out.append("    mode \(mode)")
        out.append("    bind \(s.vip):\(port.port)")
        if let externalPort = Self.externalPort(s, port), let nodeAddress {
            if withheldExternalPorts.contains(externalPort) {
                out.append("    # bind \(nodeAddress):\(externalPort) withheld: another program holds the port on this node")
            } else {
                out.append("    bind \(nodeAddress):\(externalPort)")
            }
        }
        if http { out.append("    option http-keep-alive") }
        out.append("    default_backend \(name)")
        out.append("")
        out.append("backend \(name)")
        out.append("    mode \(mode)")
        out.append("    balance \(s.balance.rawValue)")
        if http { out.append("    retry-on all-retryable-errors") }
        let check = s.healthCheck?.enabled ?? true
        if check, http, let path = s.healthCheck?.path {
            out.append("    option httpchk GET \(path)")
        }
        let inter = s.healthCheck?.intervalSeconds ?? 2
        let rise = s.healthCheck?.rise ?? 1
        let fall = s.healthCheck?.fall ?? 2
        let checkArgs = check ? " check inter \(inter)s rise \(rise) fall \(fall)" : ""
        let maxconn = s.maxConnectionsPerReplica.map { " maxconn \($0)" } ?? ""
        for e in s.endpoints.sorted(by: { ($0.replica ?? $0.ip) < ($1.replica ?? $1.ip) }) {
            let server = e.replica ?? e.ip
            out.append("    server \(server) \(e.ip):\(port.effectiveTargetPort)\(checkArgs)\(maxconn)")
        }
        return out
    }
}
