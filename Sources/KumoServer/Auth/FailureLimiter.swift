import KumoModel
import Synchronization

/// Rate limit for authentication failures, per source address: a token bucket of `burst` failures that refills
/// at `refillPerSecond`. While a source's bucket is empty every request from it gets 429 before its token is
/// checked (so guessing stops), and other sources are untouched. Pure state; the clock is passed in.
public struct FailureBuckets: Sendable {
    public var burst: Double
    public var refillPerSecond: Double
    /// Most sources tracked; the fullest (least suspicious) are forgotten first.
    public var maxSources = 10_000
    var buckets: [String: (tokens: Double, at: Double)] = [:]

    public init(burst: Int, refillPerSecond: Double) {
        self.burst = Double(burst)
        self.refillPerSecond = refillPerSecond
    }

    func level(_ source: String, now: Double) -> Double {
        guard let b = buckets[source] else { return burst }
        return min(burst, b.tokens + (now - b.at) * refillPerSecond)
    }

    /// Whether `source` may be served now; when not, the seconds until it may.
    public func retryAfter(_ source: String, now: Double) -> Double? {
        let l = level(source, now: now)
        return l >= 1 ? nil : (1 - l) / refillPerSecond
    }

    /// One failure from `source`.
    public mutating func fail(_ source: String, now: Double) {
        buckets[source] = (max(0, level(source, now: now) - 1), now)
        if buckets.count > maxSources {
            // forget sources whose buckets are full again
            buckets = buckets.filter { $0.value.tokens + (now - $0.value.at) * refillPerSecond < burst }
        }
    }

    public var trackedSources: Int { buckets.count }
}

/// `FailureBuckets` behind a lock, on the monotonic clock.
public final class FailureLimiter: Sendable {
    private let state: Mutex<FailureBuckets>
    private let start = ContinuousClock.now

    public init(burst: Int, refillPerSecond: Double) {
        state = Mutex(FailureBuckets(burst: burst, refillPerSecond: refillPerSecond))
    }

    var now: Double {
        let d = ContinuousClock.now - start
        return d.secondsValue
    }

    public func retryAfter(_ source: String) -> Double? {
        let t = now
        return state.withLock { $0.retryAfter(source, now: t) }
    }

    public func fail(_ source: String) {
        let t = now
        state.withLock { $0.fail(source, now: t) }
    }

    public var trackedSources: Int { state.withLock { $0.trackedSources } }
}
