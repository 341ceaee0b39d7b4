/// How long a cache waits before it watches (or lists) again after a failure: `initial`, doubling per failure in a
/// row up to `maximum`, each delay jittered into [½·d, d] so that the watchers a server restart cut off (thousands of
/// agents) do not all come back in the same instant.
public struct RetryBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before attempt `attempt` (1 = after the first failure), before jitter.
    public func ceiling(attempt: Int) -> Duration {
        let doublings = min(max(attempt - 1, 0), 30)
        return min(maximum, initial * (1 << doublings))
    }

    /// The jittered delay before attempt `attempt`; `fraction` in [0, 1] picks where in [½·d, d] (random by default).
    public func delay(attempt: Int, fraction: Double = Double.random(in: 0...1)) -> Duration {
        let ceiling = ceiling(attempt: attempt)
        return ceiling / 2 + ceiling * (min(max(fraction, 0), 1) / 2)
    }
}
