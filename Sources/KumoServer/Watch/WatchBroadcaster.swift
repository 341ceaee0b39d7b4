import DequeModule
import Foundation
import KumoModel
import KumoStore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Fans out changes to HTTP watch streams. One store watch over `/registry/` feeds it; each event is rendered once
/// and appended, as bytes, to the pending buffer of every subscriber it concerns; a subscriber's writer takes
/// everything pending in one write. Under load several events leave in one write instead of one write each —
/// that is what keeps 1,000 watchers cheap.
///
/// The last `ringCapacity` events stay in memory, so a watch from a recent revision replays from here without a
/// gap (under the same lock as live delivery). Older `since` values are served by the store directly
/// (`subscribe` returns nil).
///
/// It also keeps the `SecretReferenceIndex` (which node's replicas reference which secrets) from the replica and
/// instance events it sees, updated before each event is delivered: a node's secret watch (`secretsOf`) gets a
/// secret's events only while a replica or instance bound to it references that secret.
public final class WatchBroadcaster: ServiceLifecycle.Service, Sendable {
    /// One event in the ring, rendered the first time a subscriber needs it (so writes cost nothing extra while
    /// nobody watches). Mutated only under the broadcaster's lock.
    final class Entry: @unchecked Sendable {
        let revision: Int64
        let key: String
        let event: WatchEvent
        private var cached: WatchRenderCache.Rendered?
        private var failed = false

        init(_ event: WatchEvent) {
            self.revision = event.kv.modRevision
            self.key = event.kv.key
            self.event = event
        }

        /// nil if the stored bytes cannot be read (logged by the caller once).
        func rendered(_ renderer: WatchRenderCache) -> WatchRenderCache.Rendered? {
            if let cached { return cached }
            if failed { return nil }
            do {
                cached = try renderer.renderUncached(event)
            } catch {
                failed = true
            }
            return cached
        }
    }

    /// Mutated only under the broadcaster's lock (a class so that updating one does not copy the dictionary).
    final class Subscriber: @unchecked Sendable {
        let prefix: String
        let filter: ListFilter
        let redact: (@Sendable (JSONValue, String) -> ByteBuffer)?
        /// A node's secret watch: only secrets that node's replicas or instances reference.
        let secretsOf: String?
        var pending: ByteBuffer?
        var waiter: CheckedContinuation<ByteBuffer?, Never>?
        var closed = false
        /// When the writer last took bytes (uptime nanoseconds).
        var lastTake: UInt64 = 0
        /// Coalescing window of this stream (0: every event at once).
        let interval: UInt64
        /// Events in `pending` and since when it holds any (uptime nanoseconds): `kumo doctor`'s watch lag.
        var pendingEvents = 0
        var pendingSince: UInt64 = 0

        init(
            prefix: String, filter: ListFilter, redact: (@Sendable (JSONValue, String) -> ByteBuffer)?, secretsOf: String?,
            interval: UInt64
        ) {
            self.prefix = prefix
            self.filter = filter
            self.redact = redact
            self.secretsOf = secretsOf
            self.interval = interval
        }

        /// Whether the event at `key` may go to this subscriber at all (before it is rendered).
        func admits(_ key: String, _ references: SecretReferenceIndex) -> Bool {
            guard key.hasPrefix(prefix) else { return false }
            guard let node = secretsOf else { return true }
            return references.references(node: node, secretKey: key)
        }

        func append(_ line: ByteBuffer) {
            if pending == nil {
                pendingEvents = 0
                pendingSince = WatchBroadcaster.uptimeNanos()
            }
            pendingEvents += 1
            if pending == nil {
                pending = line
            } else {
                var line = line
                pending!.writeBuffer(&line)
            }
        }
    }

    struct State {
        var running = false
        var ring = Deque<Entry>()
        /// Every event with a revision above this is in `ring` (when running).
        var ringStart: Int64 = .max
        var subscribers: [Int: Subscriber] = [:]
        /// The subscribers an event may concern, by kind and required node (`SubscriberIndex`).
        var index = SubscriberIndex()
        var nextID = 0
        /// As of the last event published (valid while running).
        var secretReferences = SecretReferenceIndex()
        var nodeBindings = NodeBindingIndex()
        /// Every event at or below this revision is published (the watch's start until one is).
        var published: Int64 = 0
    }

    private let state = Mutex(State())
    private let renderer: WatchRenderCache
    private let store: any Store
    private let ringCapacity: Int
    private let logger: Logger
    /// Bytes pending for one subscriber beyond which it is cut off (it reads too slowly).
    private let maxPendingBytes: Int
    /// A subscriber written to less than this long ago gets its next events at the next flush tick, coalesced
    /// into one write; a quiet subscriber gets an event at once. Bounds the added latency; divides the writes
    /// (and syscalls) of a busy stream.
    private let flushInterval: Duration
    private let flushNanos: UInt64

    public init(
        store: any Store, logger: Logger, ringCapacity: Int = 10_000, maxPendingBytes: Int = 16 << 20,
        flushInterval: Duration = .milliseconds(40), open: @escaping @Sendable (JSONValue) -> JSONValue = { $0 }
    ) {
        self.renderer = WatchRenderCache(capacity: 1, open: open)
        self.store = store
        self.logger = logger
        self.ringCapacity = ringCapacity
        self.maxPendingBytes = maxPendingBytes
        self.flushInterval = flushInterval
        self.flushNanos = UInt64(max(0, flushInterval.secondsValue * 1e9))
    }

    static func uptimeNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// For `/debug/state`.
    /// Streams whose writer has not taken their pending events for at least `minimumSeconds`: it is blocked on
    /// a client that does not read (a waiting writer is only coalescing, not behind).
    public func lagging(minimumSeconds: Double) -> [(id: Int, prefix: String, pendingEvents: Int, stalledSeconds: Double)] {
        let now = Self.uptimeNanos()
        return state.withLock { s in
            s.subscribers.compactMap { id, sub in
                guard sub.pending != nil, sub.waiter == nil, !sub.closed else { return nil }
                let stalled = Double(now &- max(sub.lastTake, sub.pendingSince)) / 1e9
                return stalled >= minimumSeconds ? (id, sub.prefix, sub.pendingEvents, stalled) : nil
            }
            .sorted { $0.id < $1.id }
        }
    }

    public func snapshot() -> JSONValue {
        state.withLock { s in
            .object([
                "running": .bool(s.running), "subscribers": .number(Double(s.subscribers.count)),
                "ringEvents": .number(Double(s.ring.count)),
                "ringFromRevision": s.running ? .number(Double(s.ringStart)) : .null,
                "flushIntervalMs": .number(Double(flushNanos / 1_000_000)),
                "secretReferences": .number(Double(s.secretReferences.referenceCount)),
                "boundObjects": .number(Double(s.nodeBindings.count)),
            ])
        }
    }

    // MARK: Pump

    public func run() async throws {
        let flusher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: flushInterval)
                flushDue()
            }
        }
        defer { flusher.cancel() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await self.pump() }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                logger.warning("watch broadcaster restarting", metadata: ["error": "\(error)"])
                closeAll(error: KumoError(.gone, "watch interrupted (\(error)); list again and re-watch"))
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        closeAll(error: nil)
    }

    private func pump() async throws {
        let start = try await store.currentRevision()
        let stream = try await store.watch(prefix: StoreKeys.registry, since: start)
        // Read after the watch began (at a revision ≥ start): the events in between are applied again on top,
        // each setting its object as it was then, so from the last of them on the index is exact.
        let (references, bindings) = try await loadHolderIndexes()
        state.withLock {
            $0.running = true
            $0.ring.removeAll()
            $0.ringStart = start
            $0.published = start
            $0.secretReferences = references
            $0.nodeBindings = bindings
        }
        defer { state.withLock { $0.running = false } }
        for try await event in stream {
            publish(Entry(event))
        }
    }

    /// Every replica and instance in the store → the indexes.
    private func loadHolderIndexes() async throws -> (SecretReferenceIndex, NodeBindingIndex) {
        var index = SecretReferenceIndex()
        var bindings = NodeBindingIndex()
        for prefix in SecretReferenceIndex.holderPrefixes {
            var after: String? = nil
            while true {
                let page = try await store.list(prefix: prefix, startAfter: after, limit: 500)
                for kv in page.items {
                    // an object that cannot be read references nothing: its node gets none of its secrets
                    let object = try? ObjectCodec.decodeStored(kv.value, key: kv.key)
                    index.apply(key: kv.key, object: object)
                    bindings.apply(key: kv.key, object: object)
                }
                after = page.items.last?.key
                if !page.more || after == nil { break }
            }
        }
        return (index, bindings)
    }

    private func publish(_ entry: Entry) {
        let now = Self.uptimeNanos()
        var wake: [(CheckedContinuation<ByteBuffer?, Never>, ByteBuffer?)] = []
        state.withLock { s in
            if SecretReferenceIndex.isHolder(entry.key) {
                // before delivery: a secret event of this same revision is judged with it (fails closed: an
                // unreadable object references nothing)
                let object = entry.event.type == .delete ? nil : entry.rendered(renderer)?.object
                s.secretReferences.apply(key: entry.key, object: object)
                s.nodeBindings.apply(key: entry.key, object: object)
            }
            // the revision's other events may still follow: only the one before is known complete
            s.published = entry.revision - 1
            s.ring.append(entry)
            if s.ring.count > ringCapacity {
                // drop whole revisions from the front
                let dropped = s.ring.removeFirst()
                s.ringStart = dropped.revision
                while let first = s.ring.first, first.revision == dropped.revision { s.ring.removeFirst() }
            }
            let candidates = s.index.candidates(for: entry.key) {
                FieldSelector.stringForm(entry.rendered(renderer)?.object.value(atPath: SubscriberIndex.nodeField))
            }
            for id in candidates {
                guard let sub = s.subscribers[id], !sub.closed, sub.admits(entry.key, s.secretReferences) else { continue }
                guard let rendered = entry.rendered(renderer), sub.filter.matches(rendered.object) else { continue }
                sub.append(sub.redact.map { $0(rendered.object, rendered.type) } ?? rendered.line)
                if sub.pending!.readableBytes > maxPendingBytes {
                    sub.pending = Self.errorLine(KumoError(.gone, "watch fell behind: the client reads too slowly; list again and re-watch"))
                    sub.closed = true
                }
                if let waiter = sub.waiter, sub.closed || now &- sub.lastTake >= sub.interval {
                    wake.append((waiter, sub.pending))
                    sub.waiter = nil
                    sub.pending = nil
                    sub.lastTake = now
                }
            }
        }
        for (waiter, bytes) in wake { waiter.resume(returning: bytes) }
    }

    /// Hands coalesced bytes to waiting subscribers whose interval has passed.
    private func flushDue() {
        let now = Self.uptimeNanos()
        var wake: [(CheckedContinuation<ByteBuffer?, Never>, ByteBuffer?)] = []
        state.withLock { s in
            for sub in s.subscribers.values where sub.pending != nil {
                if let waiter = sub.waiter, now &- sub.lastTake >= sub.interval {
                    wake.append((waiter, sub.pending))
                    sub.waiter = nil
                    sub.pending = nil
                    sub.lastTake = now
                }
            }
        }
        for (waiter, bytes) in wake { waiter.resume(returning: bytes) }
    }

    // MARK: Subscribers

    /// The store keys under `prefix` (replicas or instances, of all projects or one) bound to `node`, and the
    /// revision through which the index has applied every event; nil while the broadcaster is not running. Every
    /// object bound to `node` at that revision is among the keys (see `ResourceService.list(keys:)`).
    func keys(boundTo node: String, under prefix: String) -> (keys: [String], revision: Int64)? {
        state.withLock { s in
            guard s.running else { return nil }
            return (s.nodeBindings.keys(boundTo: node, under: prefix), s.published)
        }
    }

    /// Subscribes to keys under `prefix` changed after `since`; nil when `since` is older than the ring (use the
    /// store's own watch then). `redact` renders a line differently for this subscriber (view tokens on secrets).
    /// `immediate` streams get every event at once, never coalesced: node agents' streams, which carry only
    /// their node's few events and whose latency is the replica start latency. `secretsOf`: a node's secret
    /// watch, which gets only the secrets that node's replicas and instances reference (replayed events are
    /// judged by the references as they are now).
    func subscribe(
        prefix: String, filter: ListFilter, since: Int64,
        redact: (@Sendable (JSONValue, String) -> ByteBuffer)? = nil, immediate: Bool = false, secretsOf: String? = nil
    ) -> Subscription? {
        state.withLock { s in
            guard s.running, since >= s.ringStart else { return nil }
            let sub = Subscriber(
                prefix: prefix, filter: filter, redact: redact, secretsOf: secretsOf, interval: immediate ? 0 : flushNanos)
            for entry in s.ring where entry.revision > since && sub.admits(entry.key, s.secretReferences) {
                guard let rendered = entry.rendered(renderer), filter.matches(rendered.object) else { continue }
                sub.append(redact.map { $0(rendered.object, rendered.type) } ?? rendered.line)
            }
            s.nextID += 1
            s.subscribers[s.nextID] = sub
            s.index.insert(s.nextID, prefix: prefix, filter: filter)
            return Subscription(id: s.nextID, broadcaster: self)
        }
    }

    /// Everything pending for `id`, waiting if there is nothing yet; nil when the subscription is over.
    func next(_ id: Int) async -> ByteBuffer? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ByteBuffer?, Never>) in
                let ready: ByteBuffer?? = state.withLock { s in
                    guard let sub = s.subscribers[id] else { return .some(nil) }
                    if let pending = sub.pending, sub.closed || Self.uptimeNanos() &- sub.lastTake >= sub.interval {
                        sub.pending = nil
                        sub.lastTake = Self.uptimeNanos()
                        return .some(pending)
                    }
                    if sub.closed { return .some(nil) }
                    sub.waiter = continuation
                    return .none
                }
                if case .some(let value) = ready { continuation.resume(returning: value) }
            }
        } onCancel: {
            self.unsubscribe(id)
        }
    }

    /// Ends one subscription; with `error`, it gets an ERROR line first.
    func close(_ id: Int, error: KumoError?) {
        let wake: (CheckedContinuation<ByteBuffer?, Never>, ByteBuffer?)? = state.withLock { s in
            guard let sub = s.subscribers[id] else { return nil }
            sub.closed = true
            if let error { sub.pending = Self.errorLine(error) }
            guard let waiter = sub.waiter else { return nil }
            sub.waiter = nil
            defer { sub.pending = nil }
            return (waiter, sub.pending)
        }
        if let (waiter, bytes) = wake { waiter.resume(returning: bytes) }
    }

    func unsubscribe(_ id: Int) {
        let waiter = state.withLock { s in
            s.index.remove(id)
            return s.subscribers.removeValue(forKey: id)?.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Ends every subscription; with `error`, each gets an ERROR line first.
    func closeAll(error: KumoError?) {
        var wake: [(CheckedContinuation<ByteBuffer?, Never>, ByteBuffer?)] = []
        state.withLock { s in
            for sub in s.subscribers.values {
                sub.closed = true
                if let error { sub.pending = Self.errorLine(error) }
                if let waiter = sub.waiter {
                    wake.append((waiter, sub.pending))
                    sub.waiter = nil
                    sub.pending = nil
                }
            }
        }
        for (waiter, bytes) in wake { waiter.resume(returning: bytes) }
    }

    static func errorLine(_ e: KumoError) -> ByteBuffer {
        let error = JSONValue.object([
            "type": "ERROR",
            "object": .object(["error": .object(["code": .string(e.code.rawValue), "message": .string(e.message)])]),
        ])
        var line = error.serialized()
        line.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: line)
    }

    /// One HTTP watch's handle.
    struct Subscription: Sendable {
        let id: Int
        let broadcaster: WatchBroadcaster

        func next() async -> ByteBuffer? { await broadcaster.next(id) }
        func cancel() { broadcaster.unsubscribe(id) }
        func close(error: KumoError?) { broadcaster.close(id, error: error) }
    }
}
