import Foundation
import KumoModel

/// The autoscaler's pure core, like Kubernetes' HPA: desired = ceil(current × value / target), no change within a
/// 10% tolerance, clamped to [min, max]; scale-out at once, scale-in only down to the highest recommendation of
/// the stabilisation window (so a short dip removes nothing).
public struct AutoscaleDecision: Sendable, Equatable {
    public struct Recommendation: Sendable, Equatable {
        public var at: Timestamp
        public var replicas: Int

        public init(at: Timestamp, replicas: Int) {
            self.at = at
            self.replicas = replicas
        }
    }

    public static let tolerance = 0.1

    /// The metric value as the spec defines it (per ready replica for requests/s and queue).
    public var value: Double
    /// This reading's own recommendation (before the window).
    public var recommended: Int
    /// What `replicas` should become.
    public var desired: Int
    /// Why, with the figures (the event message).
    public var message: String

    public static func decide(
        spec: Autoscale, current: Int, ready: Int, load: ServiceLoad, history: [Recommendation], now: Timestamp
    ) -> AutoscaleDecision {
        let metric = spec.effectiveMetric
        let perReplicas = Double(max(ready, 1))
        let value: Double
        let detail: String
        switch metric {
        case .requestsPerSecond:
            value = load.requestsPerSecond / perReplicas
            detail = String(format: "%.1f req/s per replica (%.1f req/s over %d ready, %d node(s))", value, load.requestsPerSecond, ready, load.nodes)
        case .queue:
            value = Double(load.queue) / perReplicas
            detail = String(format: "%.1f queued per replica (%d queued, %d ready)", value, load.queue, ready)
        case .responseTimeMs:
            value = load.avgResponseMs
            detail = String(format: "average response %.0f ms", value)
        }
        let base = max(current, 1)
        let ratio = value / spec.target
        var recommended = current
        if abs(ratio - 1) > tolerance {
            // clamp as a Double first: figures come from agents and a ratio can be huge (or not finite)
            let wanted = (Double(base) * ratio).rounded(.up)
            recommended = wanted.isNaN ? current : Int(min(max(wanted, Double(spec.min)), Double(spec.max)))
        }
        recommended = min(max(recommended, spec.min), spec.max)
        var desired = recommended
        if recommended < current {
            let window = Double(spec.effectiveWindowSeconds)
            let recent = history.filter { Double((now.millisecondsSinceEpoch - $0.at.millisecondsSinceEpoch)) / 1000 <= window }.map(\.replicas)
            desired = min(current, max(recommended, recent.max() ?? recommended))
        }
        let target = String(format: "target %g", spec.target)
        let message: String
        if desired > current {
            message = "scaled out \(current) → \(desired): \(detail), \(target)"
        } else if desired < current {
            message = "scaled in \(current) → \(desired): \(detail), \(target); lowest for \(spec.effectiveWindowSeconds) s"
        } else if recommended < current {
            message = "holding \(current) (recommended \(recommended) within the \(spec.effectiveWindowSeconds) s window): \(detail), \(target)"
        } else {
            message = "holding \(current): \(detail), \(target)"
        }
        return AutoscaleDecision(value: value, recommended: recommended, desired: desired, message: message)
    }
}
