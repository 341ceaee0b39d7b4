import KumoModel

/// What happens after a container exits — pure, so restart policy and backoff get exact tests.
///
/// - `Always` restarts every exit; `OnFailure` restarts non-zero (or unknown) exits; `Never` restarts nothing.
/// - The delay doubles with each consecutive quick exit (`base`, 2×, 4×, … up to `cap`); a run that lasted at
///   least `reset` counts as healthy and starts the series again.
public struct RestartDecision: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case restart(after: Duration)
        /// Leave it stopped: Succeeded (exit 0) or Failed.
        case finished(ReplicaPhase)
    }

    public var outcome: Outcome
    /// Consecutive quick exits including this one (feeds the next decision).
    public var consecutiveFailures: Int

    public struct Backoff: Sendable, Equatable {
        public var base: Duration
        public var cap: Duration
        public var reset: Duration
        public init(base: Duration, cap: Duration, reset: Duration) {
            self.base = base
            self.cap = cap
            self.reset = reset
        }
    }

    /// `exitCode` nil = unknown (the container ended while the agent was not its parent).
    public static func decide(
        policy: RestartPolicy, exitCode: Int32?, ranFor: Duration, consecutiveFailures: Int, backoff: Backoff
    ) -> RestartDecision {
        let failures = ranFor >= backoff.reset ? 0 : consecutiveFailures
        let succeeded = exitCode == 0
        let restart: Bool
        switch policy {
        case .always: restart = true
        case .onFailure: restart = !succeeded
        case .never: restart = false
        }
        guard restart else {
            return RestartDecision(outcome: .finished(succeeded ? .succeeded : .failed), consecutiveFailures: failures)
        }
        return RestartDecision(outcome: .restart(after: delay(failures: failures, backoff)), consecutiveFailures: failures + 1)
    }

    /// base × 2^failures, at most cap.
    public static func delay(failures: Int, _ backoff: Backoff) -> Duration {
        var d = backoff.base
        for _ in 0..<min(failures, 30) {
            d = d * 2
            if d >= backoff.cap { return backoff.cap }
        }
        return min(d, backoff.cap)
    }
}
