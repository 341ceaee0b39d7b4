import KumoModel

/// A report comes from an agent over the API: the server checks it before the checks see it, so that no
/// figure a node sends (negative, infinite, a count near `Int.max`) can make a check trap or mislead.
extension NodeHealthReport {
    /// Bounds a report must stay within. Generous: a real agent sends far less.
    public enum Limits {
        public static let count = 1_000_000_000
        public static let listItems = 10_000
        public static let text = 4096
        public static let windowSeconds = 7 * 86_400.0
        public static let milliseconds = 3_600_000.0
    }

    /// Every problem found, as field errors (`dhcp.refusals[2].count: …`); empty when the report is valid.
    public func validationErrors() -> [FieldError] {
        var v = ReportValidator()
        v.text("node", node)
        v.text("time", time)
        guard Timestamp(rfc3339: time) != nil else {
            v.errors.append(FieldError("time", "must be an RFC 3339 time"))
            return v.errors
        }
        if let d = dnsmasq { v.daemon("dnsmasq", d) }
        if let h = haproxy { v.daemon("haproxy", h) }
        if let d = dhcp {
            v.count("dhcp.hosts", d.hosts)
            v.count("dhcp.leases", d.leases)
            v.number("dhcp.windowSeconds", d.windowSeconds, max: Limits.windowSeconds)
            v.list("dhcp.refusals", d.refusals.count)
            for (i, r) in d.refusals.enumerated() {
                let f = "dhcp.refusals[\(i)]"
                v.text(f + ".mac", r.mac)
                v.text(f + ".kind", r.kind)
                v.text(f + ".reason", r.reason)
                v.count(f + ".count", r.count)
                v.text(f + ".lastLine", r.lastLine)
                v.text(f + ".lastTime", r.lastTime)
            }
        }
        if let peers {
            v.list("peers", peers.count)
            for (i, p) in peers.enumerated() {
                let f = "peers[\(i)]"
                v.text(f + ".node", p.node)
                v.text(f + ".address", p.address)
                v.count(f + ".probeBytes", p.probeBytes)
                v.number(f + ".rttMs", p.rttMs, max: Limits.milliseconds)
                v.text(f + ".error", p.error)
            }
        }
        if let o = overlay {
            v.count("overlay.peersExpected", o.peersExpected)
            v.count("overlay.peersProgrammed", o.peersProgrammed)
            v.list("overlay.peersDataMissing", o.peersDataMissing.count)
            v.list("overlay.missingEntries", o.missingEntries.count)
            for (i, s) in o.peersDataMissing.enumerated() { v.text("overlay.peersDataMissing[\(i)]", s) }
            for (i, s) in o.missingEntries.enumerated() { v.text("overlay.missingEntries[\(i)]", s) }
        }
        if let lb = loadBalancer {
            v.list("loadBalancer", lb.count)
            for (i, b) in lb.enumerated() {
                let f = "loadBalancer[\(i)]"
                v.text(f + ".service", b.service)
                v.count(f + ".serversUp", b.serversUp)
                v.count(f + ".serversTotal", b.serversTotal)
                if b.serversUp > b.serversTotal { v.errors.append(FieldError(f + ".serversUp", "must not exceed serversTotal")) }
                v.text(f + ".checkStatus", b.checkStatus)
                v.count(f + ".queued", b.queued)
                v.number(f + ".errorsPerMinute", b.errorsPerMinute, max: Double(Limits.count))
            }
        }
        if let h = host {
            v.text("host.kvmReason", h.kvmReason)
            v.text("host.diskPath", h.diskPath)
            if let free = h.diskFreeBytes, free < 0 { v.errors.append(FieldError("host.diskFreeBytes", "must not be negative")) }
            if let total = h.diskTotalBytes, total < 0 { v.errors.append(FieldError("host.diskTotalBytes", "must not be negative")) }
            if let free = h.diskFreeBytes, let total = h.diskTotalBytes, free > total {
                v.errors.append(FieldError("host.diskFreeBytes", "must not exceed diskTotalBytes"))
            }
        }
        if let c = certificateNotAfter, Timestamp(rfc3339: c) == nil {
            v.errors.append(FieldError("certificateNotAfter", "must be an RFC 3339 time"))
        }
        if let lines = lastLogLines {
            v.list("lastLogLines", lines.count)
            for (k, line) in lines.sorted(by: { $0.key < $1.key }) {
                v.text("lastLogLines", k)
                v.text("lastLogLines[\(k)]", line)
            }
        }
        return v.errors
    }

    /// Throws the 422 naming the first bad field.
    public func validate() throws(KumoError) {
        let errors = validationErrors()
        if !errors.isEmpty { throw KumoError.invalid(errors, kind: "health report") }
    }
}

private struct ReportValidator {
    typealias Limits = NodeHealthReport.Limits
    var errors: [FieldError] = []

    mutating func daemon(_ f: String, _ d: DaemonHealth) {
        count(f + ".pid", d.pid)
        count(f + ".restarts", d.restarts)
        text(f + ".error", d.error)
        text(f + ".lastReloadError", d.lastReloadError)
        if let held = d.portsHeld {
            list(f + ".portsHeld", held.count)
            for (port, holder) in held.sorted(by: { $0.key < $1.key }) {
                if let p = Int(port), (1...65535).contains(p) {} else {
                    errors.append(FieldError(f + ".portsHeld", "key \"\(port.prefix(32))\" is not a port (1-65535)"))
                }
                text(f + ".portsHeld[\(port.prefix(8))]", holder)
            }
        }
    }

    mutating func count(_ f: String, _ n: Int?) {
        guard let n else { return }
        if n < 0 || n > Limits.count { errors.append(FieldError(f, "must be between 0 and \(Limits.count)")) }
    }

    mutating func number(_ f: String, _ x: Double?, max: Double) {
        guard let x else { return }
        if !x.isFinite || x < 0 || x > max { errors.append(FieldError(f, "must be a finite number between 0 and \(Int(max))")) }
    }

    mutating func list(_ f: String, _ n: Int) {
        if n > Limits.listItems { errors.append(FieldError(f, "must have at most \(Limits.listItems) items")) }
    }

    mutating func text(_ f: String, _ s: String?) {
        guard let s else { return }
        if s.utf8.count > Limits.text { errors.append(FieldError(f, "must be at most \(Limits.text) bytes")) }
    }
}
