import KumoModel
import Logging
import Synchronization

/// A typed informer: the current objects of one kind as `Object<Spec>` values, kept up to date by list + watch
/// from an `ObjectSource`, with named indexes and a notification per change. Controllers and agent managers read
/// it instead of asking the server on every decision, and react to its changes (usually by queueing a key).
///
///     let replicas = ObjectCache<ReplicaSpec>(source: plane, logger: logger)
///     replicas.addIndex("node", ObjectIndexes.replicaNode)
///     replicas.onChange { change in queue.add(change.key) }
///     group.addTask { await replicas.run() }
///     guard await replicas.waitForSync() else { return }
///     let onNode = replicas.byIndex("node", "n1")
///
/// `run()` lists, then watches from the list's revision. A watch that ends (the server closed it, the connection
/// broke) is resumed from just before the last revision seen, after a backoff, so no change is missed; the replay
/// of that revision is dropped, so none is reported twice. A `.gone` (410: the source no longer has that history,
/// or the watcher fell behind) lists again and reports the difference. Each version is decoded once, when it
/// arrives; one that does not decode is logged once per version and left out (the last version that did decode
/// stays: `CacheState`). Cancelling the task that runs `run()` ends it.
///
/// A quiet kind's watch does not advance its revision; if the source compacts past it, the next resume is a 410
/// and a relist (correct, only dearer). With a `fieldSelector` source, an object that stops matching is not
/// reported deleted until it is deleted (Kumo's selectors used for caches, like `spec.nodeName=N`, do not change
/// for an object's life).
public final class ObjectCache<Spec: ResourceSpec>: Sendable {
    public typealias Value = Object<Spec>
    public typealias Handler = @Sendable (ObjectChange<Spec>) -> Void

    /// What the cache has done, for state dumps and tests.
    public struct Stats: Sendable, Equatable {
        /// The revision the watch resumes from.
        public var revision: Int64 = 0
        /// Lists made (the first one, then one per 410 or failed list).
        public var lists = 0
        /// Watches opened (the first after each list, then one per resume).
        public var watches = 0
        /// Watches that ended with `.gone` (410).
        public var expired = 0
        /// The last failure (nil once a list or an event succeeds after it).
        public var lastError: String?
    }

    private struct Observers: Sendable {
        var handlers: [Handler] = []
        var streams: [Int: AsyncStream<ObjectChange<Spec>>.Continuation] = [:]
        var nextStream = 0
        var synced = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
        var running = false
    }

    public var kind: Kind { Spec.kind }
    let source: any ObjectSource
    let logger: Logger
    let backoff: RetryBackoff
    private let state: Mutex<CacheState<Spec>>
    private let observers = Mutex(Observers())
    private let counters = Mutex(Stats())
    /// `key@revision` of versions that failed to decode and were logged (bounded).
    private let reportedFailures = Mutex<(seen: Set<String>, total: Int)>(([], 0))

    /// A cache of `Spec.kind` read from `source`. `logger` gets the failures (a label like `kumo.informer.replicas`
    /// is the caller's choice).
    public init(source: any ObjectSource, logger: Logger, backoff: RetryBackoff = RetryBackoff()) {
        self.source = source
        self.logger = logger
        self.backoff = backoff
        self.state = Mutex(CacheState())
    }

    // MARK: Reads

    public func get(_ key: String) -> Value? { state.withLock { $0.objects[key] } }

    /// Every cached object, in no particular order.
    public func list() -> [Value] { state.withLock { Array($0.objects.values) } }

    public var count: Int { state.withLock { $0.objects.count } }

    /// Whether the first list has been applied and its objects handed to the handlers (before it, the cache is
    /// empty, not "there are none").
    public var hasSynced: Bool { observers.withLock { $0.synced } }

    public var stats: Stats { counters.withLock { $0 } }

    /// How many distinct object versions did not decode (each logged once).
    public var decodeFailures: Int { reportedFailures.withLock { $0.total } }

    /// Waits until the first list has been applied and reported: true then, false if the waiting task was cancelled
    /// first.
    public func waitForSync() async -> Bool {
        let id = observers.withLock { o -> Int in
            o.nextWaiter += 1
            return o.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                let answer = observers.withLock { o -> Bool? in
                    if o.synced { return true }
                    if Task.isCancelled { return false }
                    o.waiters[id] = c
                    return nil
                }
                if let answer { c.resume(returning: answer) }
            }
        } onCancel: {
            observers.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    // MARK: Indexes

    /// Adds index `name`: `function` gives each object's entries (none: in no entry), e.g. a replica's node or its
    /// owner's key (`ObjectIndexes`). It must be pure: it is asked again for an object's old version to remove it.
    /// Objects already cached are indexed at once.
    public func addIndex(_ name: String, _ function: @escaping @Sendable (Value) -> [String]) {
        state.withLock { $0.addIndex(name, function) }
    }

    /// The objects whose index `name` has entry `value`, in key order. Asking an index that was not added is a
    /// programming error (an assertion; empty in a release build).
    public func byIndex(_ name: String, _ value: String) -> [Value] {
        let found = state.withLock { s -> [Value]? in
            s.keys(index: name, value: value).map { keys in keys.compactMap { s.objects[$0] } }
        }
        assert(found != nil, "no index \(name) on the \(Spec.kind.plural) cache")
        return found ?? []
    }

    /// The keys under entry `value` of index `name`, sorted.
    public func keys(index name: String, _ value: String) -> [String] {
        let keys = state.withLock { $0.keys(index: name, value: value) }
        assert(keys != nil, "no index \(name) on the \(Spec.kind.plural) cache")
        return keys ?? []
    }

    /// The entries of index `name` that have objects, sorted (e.g. the nodes that have replicas).
    public func indexValues(_ name: String) -> [String] {
        let values = state.withLock { $0.values(index: name) }
        assert(values != nil, "no index \(name) on the \(Spec.kind.plural) cache")
        return values ?? []
    }

    // MARK: Own writes

    /// Puts the result of the caller's own write into the cache at once, so its next decision sees it before the
    /// watch delivers it. A newer version already here wins, and an object the cache saw deleted after this
    /// version is not brought back. Handlers are not called: the watch's delivery of the same version is.
    /// Whether it was kept.
    @discardableResult
    public func remember(_ object: Value) -> Bool {
        state.withLock { $0.remember(object) }
    }

    /// `remember` for the JSON a write returned; false (and logged once) if it does not decode.
    @discardableResult
    public func remember(_ object: JSONValue) -> Bool {
        let key = CacheKey.of(object)
        let revision = object["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) } ?? 0
        guard let value = decoded(object, key: key, revision: revision) else { return false }
        return remember(value)
    }

    // MARK: Notifications

    /// Calls `handler` for every later change, on the task running `run()`, in order, after the cache holds it.
    /// Add handlers before `run()`; keep them quick and non-blocking (queue a key, wake a loop).
    public func onChange(_ handler: @escaping Handler) {
        observers.withLock { $0.handlers.append(handler) }
    }

    /// The later changes as a stream (for an async consumer), buffered as `bufferingPolicy` says. It finishes
    /// when `run()` returns.
    public func changes(bufferingPolicy: AsyncStream<ObjectChange<Spec>>.Continuation.BufferingPolicy = .unbounded)
        -> AsyncStream<ObjectChange<Spec>>
    {
        let (stream, continuation) = AsyncStream.makeStream(of: ObjectChange<Spec>.self, bufferingPolicy: bufferingPolicy)
        let id = observers.withLock { o -> Int in
            o.nextStream += 1
            o.streams[o.nextStream] = continuation
            return o.nextStream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.observers.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    private func notify(_ changes: [ObjectChange<Spec>]) {
        guard !changes.isEmpty else { return }
        let (handlers, streams) = observers.withLock { ($0.handlers, Array($0.streams.values)) }
        for change in changes {
            for handler in handlers { handler(change) }
            for stream in streams { stream.yield(change) }
        }
    }

    // MARK: Running

    /// Lists, then follows the watch until the task is cancelled (see the type's documentation). Run it once at a
    /// time: a second concurrent call returns at once.
    public func run() async {
        let alreadyRunning = observers.withLock { o -> Bool in
            defer { o.running = true }
            return o.running
        }
        guard !alreadyRunning else {
            logger.error("the cache is already running", metadata: ["kind": "\(Spec.kind.plural)"])
            return
        }
        defer {
            let streams = observers.withLock { o -> [AsyncStream<ObjectChange<Spec>>.Continuation] in
                o.running = false
                defer { o.streams.removeAll() }
                return Array(o.streams.values)
            }
            for stream in streams { stream.finish() }
        }
        var resume: Int64? = nil  // nil: list first
        var failures = 0  // in a row, for the backoff
        while !Task.isCancelled {
            var expired = false
            do {
                if resume == nil { resume = try await relist() }
                let since = resume ?? 0
                counters.withLock {
                    $0.watches += 1
                    $0.revision = since
                }
                let opened = ContinuousClock.now
                let stream = try await source.watch(Spec.kind, since: since)
                for try await event in stream {
                    apply(event)
                    // resume just before this revision: others of the same revision (one transaction) may not
                    // have arrived yet; the replay of those that did is dropped
                    let next = max(resume ?? since, event.revision - 1)
                    resume = next
                    failures = 0
                    counters.withLock {
                        $0.revision = next
                        $0.lastError = nil
                    }
                }
                if Task.isCancelled { break }
                if ContinuousClock.now - opened >= backoff.maximum { failures = 0 }
                logger.debug("watch ended; resuming", metadata: ["kind": "\(Spec.kind.plural)", "since": "\(resume ?? 0)"])
            } catch {
                if Task.isCancelled { break }
                let message = (error as? KumoError)?.description ?? "\(error)"
                counters.withLock { $0.lastError = message }
                if (error as? KumoError)?.code == .gone {
                    expired = true
                    resume = nil
                    counters.withLock { $0.expired += 1 }
                    logger.info(
                        "watch expired (410); listing again", metadata: ["kind": "\(Spec.kind.plural)", "error": "\(message)"])
                } else {
                    logger.warning(
                        "watch failed; retrying", metadata: ["kind": "\(Spec.kind.plural)", "error": "\(message)"])
                }
            }
            failures += 1
            if expired && failures == 1 { continue }  // the first 410 in a row lists again at once
            do {
                try await Task.sleep(for: backoff.delay(attempt: failures))
            } catch {
                break
            }
        }
    }

    /// Lists, applies the difference, reports it; the revision to watch from.
    private func relist() async throws(KumoError) -> Int64 {
        let (listed, revision) = try await source.list(Spec.kind)
        let keyed = listed.map { json in
            (json: json, key: CacheKey.of(json), revision: json["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) } ?? 0)
        }
        // decode only the versions the cache does not have yet (outside the lock: readers are not held up)
        let fresh = state.withLock { s in keyed.map { s.isNew($0.key, revision: $0.revision) } }
        var items: [CacheState<Spec>.Item] = []
        items.reserveCapacity(keyed.count)
        for (entry, isFresh) in zip(keyed, fresh) {
            let value = isFresh ? decoded(entry.json, key: entry.key, revision: entry.revision) : nil
            items.append(.init(key: entry.key, revision: entry.revision, value: value))
        }
        let changes = state.withLock { $0.relist(items, revision: revision) }
        counters.withLock {
            $0.lists += 1
            $0.revision = revision
            $0.lastError = nil
        }
        // handlers first: once synced, they have seen every object of the first list
        notify(changes)
        let waiters = observers.withLock { o -> [CheckedContinuation<Bool, Never>] in
            o.synced = true
            defer { o.waiters.removeAll() }
            return Array(o.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
        return revision
    }

    private func apply(_ event: ObjectEvent) {
        let key = CacheKey.of(event.object)
        let value = event.type == .deleted ? nil : decoded(event.object, key: key, revision: event.revision)
        let change = state.withLock { $0.apply(event.type, .init(key: key, revision: event.revision, value: value)) }
        if let change { notify([change]) }
    }

    /// `object` as `Object<Spec>`, or nil — logged once per version (a silent `try?` once let the scheduler
    /// overcommit and node lifecycle never evict).
    private func decoded(_ object: JSONValue, key: String, revision: Int64) -> Value? {
        do {
            return try KumoModel.decode(object, as: Value.self)
        } catch {
            let first = reportedFailures.withLock { r -> Bool in
                if r.seen.count >= 10_000 { r.seen.removeAll() }  // bounded: a flood of bad objects must not grow memory
                guard r.seen.insert(key + "@" + String(revision)).inserted else { return false }
                r.total += 1
                return true
            }
            if first {
                logger.error(
                    "object left out of the cache: it does not decode",
                    metadata: [
                        "kind": "\(Spec.kind.rawValue)", "object": "\(key)", "resourceVersion": "\(revision)",
                        "error": "\(error)",
                    ])
            }
            return nil
        }
    }

    /// For `/debug/state` and `kumo state`.
    public func snapshot() -> JSONValue {
        let s = stats
        return .object([
            "kind": .string(Spec.kind.rawValue), "objects": .number(Double(count)), "synced": .bool(hasSynced),
            "revision": .string(String(s.revision)), "lists": .number(Double(s.lists)),
            "watches": .number(Double(s.watches)), "expired": .number(Double(s.expired)),
            "decodeFailures": .number(Double(decodeFailures)), "lastError": s.lastError.map { .string($0) } ?? .null,
        ])
    }
}
