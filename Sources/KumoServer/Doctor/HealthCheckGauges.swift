import KumoDoctor
import Prometheus
import Synchronization

/// `kumo_health_check{code,component,node,severity}`: one gauge per failing finding's labels, 1 while it fails
/// (the number of findings when several share the labels), unregistered when it clears.
public final class HealthCheckGauges: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let gauges = Mutex<[[String]: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func update(_ findings: [Finding]) {
        var counts: [[String]: Int] = [:]
        for f in findings where f.muted != true {
            counts[[f.code, f.component.rawValue, f.node ?? "", f.severity.rawValue], default: 0] += 1
        }
        gauges.withLock { g in
            for (labels, gauge) in g where counts[labels] == nil {
                registry.unregisterGauge(gauge)
                g[labels] = nil
            }
            for (labels, n) in counts {
                let gauge = g[labels] ?? registry.makeGauge(
                    name: "kumo_health_check",
                    labels: [("code", labels[0]), ("component", labels[1]), ("node", labels[2]), ("severity", labels[3])],
                    help: "Failing kumo doctor checks: 1 per finding with these labels")
                g[labels] = gauge
                gauge.set(Double(n))
            }
        }
    }
}
