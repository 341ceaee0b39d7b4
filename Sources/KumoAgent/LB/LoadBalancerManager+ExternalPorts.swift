import Foundation
import KumoModel

/// An external port this node leaves out of its HAProxy config because another program holds it.
struct WithheldPort: Sendable, Equatable {
    var port: Int
    var service: String
    var listener: Listener
    /// `held by pid 4242 (busybox nc -l -p 30090) on [::]:30090`, or the bind error when no holder is found.
    var reason: String
}

/// External ports another program holds. One bind HAProxy cannot get fails its whole reload, and a failing reload
/// costs every VIP of the node: HAProxy 2.6 pauses the running process's listeners while the new one retries the
/// bind (about 2 s, connections refused), then gives up. So a reload that can fail to bind is never attempted:
/// each external port HAProxy does not hold already is test-bound first (`BindProbe`), a busy one is rendered as a
/// comment, named in `lastError` and an `ExternalPortBusy` event, and re-probed every 10 s until it is free
/// (`ExternalPortPublished`). Only a port taken between probe and reload (a lost race, reported by HAProxy as a
/// bind failure on an external listener) leads to one more load without it; every other failure is an error.
extension LoadBalancerManager {
    static let externalPortRecheck: Duration = .seconds(10)

    /// Probe → render without the busy external ports → load → check the listeners. Returns the ports left out.
    func loadGuarded(_ base: HAProxyConfig) async throws(KumoError) -> [Int: WithheldPort] {
        var config = base
        let externals = config.externalListeners()
        var withheld: [Int: WithheldPort] = [:]
        // a port the running HAProxy holds is handed over by the reload (`-x`), so it needs no test
        let held = await supervisor.runningPid.map(HAProxySupervisor.heldListeners) ?? []
        let candidates = externals.keys.filter { !held.contains($0) }.sorted()
        if !candidates.isEmpty {
            let report = try await BindProbe.probe(candidates, netns: supervisor.hostNetns)
            for (listener, error) in report.busy {
                withheld[listener.port] = WithheldPort(
                    port: listener.port, service: externals[listener] ?? "?", listener: listener,
                    reason: Self.describeBusy(listener, table: report.table, error: error))
            }
        }
        config.withheldExternalPorts = Set(withheld.keys)
        switch await supervisor.load(config.render(), expecting: config.expectedListeners()) {
        case .unchanged, .loaded:
            return withheld
        case .failed(let error):
            throw error
        case .bindFailed(let unbound):
            let lost = unbound.keys.filter { externals[$0] != nil && withheld[$0.port] == nil }
            guard lost.count == unbound.count else { throw Self.bindError(unbound) }
            // taken between the probe and the reload: name the holder if it can be seen, else HAProxy's reason
            var table = ListenerTable(rows: [])
            do { table = try await BindProbe.probe([], netns: supervisor.hostNetns).table } catch {
                logger.warning("failed to read the listening table", metadata: ["error": "\(error.message)"])
            }
            for listener in lost {
                withheld[listener.port] = WithheldPort(
                    port: listener.port, service: externals[listener] ?? "?", listener: listener,
                    reason: Self.describeBusy(listener, table: table, fallback: unbound[listener] ?? "cannot bind socket"))
            }
            logger.warning(
                "an external port was taken during the reload; loading once more without it",
                metadata: ["ports": "\(lost.map(\.port).sorted())"])
            config.withheldExternalPorts = Set(withheld.keys)
            switch await supervisor.load(config.render(), expecting: config.expectedListeners()) {
            case .unchanged, .loaded: return withheld
            case .bindFailed(let again): throw Self.bindError(again)
            case .failed(let error): throw error
            }
        }
    }

    static func bindError(_ unbound: [Listener: String]) -> KumoError {
        KumoError(
            .internal,
            "haproxy could not bind " + unbound.keys.sorted().map { "\($0) (\(unbound[$0] ?? ""))" }.joined(separator: ", "))
    }

    /// Who holds `listener`: the process with a listening socket that blocks it, with what it listens on.
    static func describeBusy(_ listener: Listener, table: ListenerTable, error: Int32? = nil, fallback: String? = nil) -> String {
        let rows = table.blocking(listener)
        for row in rows {
            if let who = ListenerTable.holder(of: row.inode) { return "held by \(who) on \(row.listener)" }
        }
        if let row = rows.first { return "held by a socket on \(row.listener)" }
        if let error { return "cannot be bound: \(String(cString: strerror(error)))" }
        return "cannot be bound: \(fallback ?? "busy")"
    }

    /// `lastError` while ports are left out (nil when none is): keeps "external ports not published on this node".
    static func withheldMessage(_ withheld: [Int: WithheldPort]) -> String? {
        guard !withheld.isEmpty else { return nil }
        return "external ports not published on this node: "
            + withheld.values.sorted { $0.port < $1.port }.map { "\($0.port) (\($0.service)) \($0.reason)" }.joined(separator: "; ")
    }

    /// Events for ports newly left out or published again, and the re-sync that publishes a freed port.
    func reportWithheld(previous: [Int: WithheldPort], now: [Int: WithheldPort], config: HAProxyConfig) async {
        let wanted = Set(config.externalListeners().keys.map(\.port))
        for w in now.values.sorted(by: { $0.port < $1.port }) where previous[w.port] == nil {
            logger.warning("external port not published on this node", metadata: ["port": "\(w.port)", "service": "\(w.service)", "reason": "\(w.reason)"])
            await api.nodeEvent(
                reason: "ExternalPortBusy",
                message: "external port \(w.port) of service \(w.service) is not published on node \(node): \(w.reason); "
                    + "the VIPs are served, and the port is published once it is free",
                warning: true)
        }
        for w in previous.values.sorted(by: { $0.port < $1.port }) where now[w.port] == nil && wanted.contains(w.port) {
            logger.info("external port published on this node", metadata: ["port": "\(w.port)", "service": "\(w.service)"])
            await api.nodeEvent(
                reason: "ExternalPortPublished",
                message: "external port \(w.port) of service \(w.service) is published on node \(node) (it was \(w.reason))")
        }
        guard !now.isEmpty else { return }
        let schedule = state.withLock { s in
            if s.recheckScheduled { return false }
            s.recheckScheduled = true
            return true
        }
        guard schedule else { return }
        Task {
            try? await Task.sleep(for: Self.externalPortRecheck)
            self.state.withLock { $0.recheckScheduled = false }
            self.wake.yield()
        }
    }
}
