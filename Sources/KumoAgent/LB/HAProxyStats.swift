import KumoModel

/// `show stat` parsed (HAProxy's CSV: a `# pxname,svname,…` header, one line per frontend, server and backend)
/// and summarised per backend and server with the figures an operator reads: state, current/peak sessions,
/// queue, request rate per minute, average queue/connect/response times (over the last 1024 requests), errors.
struct HAProxyStats: Sendable, Equatable {
    struct Row: Sendable, Equatable {
        var proxy: String
        var server: String
        var fields: [String: String]

        func int(_ name: String) -> Int { Int(fields[name] ?? "") ?? 0 }
        func string(_ name: String) -> String { fields[name] ?? "" }
        var isBackend: Bool { server == "BACKEND" }
        var isFrontend: Bool { server == "FRONTEND" }
        /// Requests (HTTP) or sessions (TCP) so far.
        var requestsTotal: Int { fields["req_tot"].flatMap { Int($0) } ?? int("stot") }
        var errors: Int { int("econ") + int("eresp") + int("hrsp_5xx") }
    }

    var rows: [Row]

    static func parse(_ csv: String) -> HAProxyStats {
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let header = lines.first, header.hasPrefix("# ") else { return HAProxyStats(rows: []) }
        lines.removeFirst()
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var rows: [Row] = []
        for line in lines {
            let values = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard values.count >= 2 else { continue }
            var fields: [String: String] = [:]
            for (i, n) in names.enumerated() where i < values.count && !n.isEmpty && !values[i].isEmpty { fields[n] = values[i] }
            rows.append(Row(proxy: values[0], server: values[1], fields: fields))
        }
        return HAProxyStats(rows: rows)
    }

    func backend(_ proxy: String) -> Row? { rows.first { $0.proxy == proxy && $0.isBackend } }
    func servers(_ proxy: String) -> [Row] { rows.filter { $0.proxy == proxy && !$0.isBackend && !$0.isFrontend } }
}

/// Request totals over time, to turn HAProxy's counters into requests per minute and to see whether a queue or a
/// response time is rising (the findings).
struct LBSamples: Sendable {
    struct Sample: Sendable {
        var at: ContinuousClock.Instant
        var totals: [String: Int]  // "proxy/server" → requests so far
        var queues: [String: Int]  // backend → queue
        var rtimes: [String: Int]  // backend → avg response ms
    }
    var samples: [Sample] = []
    let window: Duration = .seconds(60)

    mutating func add(_ stats: HAProxyStats, at now: ContinuousClock.Instant) {
        var totals: [String: Int] = [:]
        var queues: [String: Int] = [:]
        var rtimes: [String: Int] = [:]
        for r in stats.rows where !r.isFrontend {
            totals["\(r.proxy)/\(r.server)"] = r.requestsTotal
            if r.isBackend {
                queues[r.proxy] = r.int("qcur")
                rtimes[r.proxy] = r.int("rtime")
            }
        }
        samples.append(Sample(at: now, totals: totals, queues: queues, rtimes: rtimes))
        samples.removeAll { now - $0.at > window + .seconds(10) }
    }

    /// Requests per minute of "proxy/server" over the window (scaled when less history exists).
    func perMinute(_ key: String) -> Double { rate(key, over: window) * 60 }

    /// Requests per second of "proxy/server" over the last `span` (what the autoscaler reads).
    func perSecond(_ key: String, over span: Duration) -> Double { rate(key, over: span) }

    /// Increase per second over the samples of the last `span`. A reload starts HAProxy's counters at zero
    /// again: a counter that went down was reset, and its new value is the increase (Prometheus' `increase`).
    func rate(_ key: String, over span: Duration) -> Double {
        guard let last = samples.last else { return 0 }
        let recent = samples.filter { last.at - $0.at <= span && $0.totals[key] != nil }
        guard let first = recent.first, recent.count >= 2 else { return 0 }
        var increase = 0
        var previous = first.totals[key] ?? 0
        for s in recent.dropFirst() {
            let value = s.totals[key] ?? 0
            increase += value >= previous ? value - previous : value
            previous = value
        }
        let d = last.at - first.at
        let seconds = d.secondsValue
        guard seconds >= 0.5 else { return 0 }
        return Double(increase) / seconds
    }

    /// The backend's queue in the previous sample (nil without history).
    func previousQueue(_ backend: String) -> Int? {
        samples.count >= 2 ? samples[samples.count - 2].queues[backend] : nil
    }

    func previousResponseMs(_ backend: String) -> Int? {
        samples.count >= 2 ? samples[samples.count - 2].rtimes[backend] : nil
    }
}

/// The plain-language reading of one backend's figures.
enum LBFinding {
    static func findings(
        backend: String, servers: [HAProxyStats.Row], row: HAProxyStats.Row?, previousQueue: Int?, previousResponseMs: Int?
    ) -> [String] {
        var out: [String] = []
        guard let row else { return out }
        if servers.isEmpty {
            out.append("\(backend): no endpoints — the VIP answers 503 until a selected replica is Ready")
            return out
        }
        let down = servers.filter { $0.string("status").hasPrefix("DOWN") }
        for s in down {
            out.append("\(backend): server \(s.server) is DOWN (\(s.string("check_status")) \(s.string("check_desc"))) — its replica fails health checks")
        }
        let queue = row.int("qcur")
        let saturated = queue > 0 || servers.contains { s in s.int("slim") > 0 && s.int("scur") >= s.int("slim") }
        if queue > 0, let prev = previousQueue, queue > prev {
            out.append("\(backend): queue \(queue) and rising (was \(prev)): replicas are saturated — scale out or raise maxconn")
        } else if queue > 0 {
            out.append("\(backend): \(queue) request(s) waiting in the queue: replicas are at their connection limit")
        }
        let rtime = row.int("rtime")
        if saturated, let prev = previousResponseMs, rtime > max(prev * 3 / 2, prev + 20) {
            out.append("\(backend): average response time rose from \(prev) ms to \(rtime) ms while replicas are saturated — not enough workers: scale out")
        }
        return out
    }
}
