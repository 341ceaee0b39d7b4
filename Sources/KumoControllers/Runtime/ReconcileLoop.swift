import Logging
import ServiceLifecycle

/// The run loop every controller shares: the informers (run here when the controller owns them), a wait for
/// their first lists, then either a work queue handed key by key to `reconcile` (per-key dedup, retry with
/// backoff: `WorkQueue`) with a resync that queues `resyncKeys()` every `resync`, or a pass every `interval`.
/// A graceful shutdown closes the queue: the key in hand is finished, nothing new starts.
///
/// No decision is made before every cache has listed: a workload whose replicas are not cached yet would look
/// like one with none.
struct ReconcileLoop: Sendable {
    let informers: ControllerInformers
    let owned: Bool
    let what: String
    let logger: Logger

    /// Over the process's `shared` caches, or (nil: a controller made alone, as in tests) caches of its own over
    /// `source`, which this loop then runs.
    init(shared: ControllerInformers?, source: any ObjectSource, what: String, logger: Logger) {
        self.informers = shared ?? ControllerInformers(source: source, logger: logger)
        self.owned = shared == nil
        self.what = what
        self.logger = logger
    }

    /// Queue-driven: `reconcile(key)` for each queued key, by `workers` at once (never two for one key);
    /// `resyncKeys()` queued every `resync` (nil: never).
    func run(
        queue: WorkQueue, workers: Int = 1, resync: Duration?, resyncKeys: @escaping @Sendable () -> [String],
        reconcile: @escaping @Sendable (String) async throws -> Void
    ) async {
        await withTaskGroup(of: Void.self) { group in
            if owned { group.addTask { try? await informers.run() } }
            group.addTask {
                guard await informers.waitForSync() else { return }
                await queue.process(logger: logger, what: what, workers: workers, reconcile)
            }
            if let resync {
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: resync) } catch { return }
                        for key in resyncKeys() { queue.add(key) }
                    }
                }
            }
            try? await gracefulShutdown()
            queue.close()
            group.cancelAll()
        }
    }

    /// Periodic: `pass()` every `interval` once the caches have listed; a failing pass is logged and the next one
    /// runs on time.
    func run(every interval: Duration, pass: @escaping @Sendable () async throws -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            if owned { group.addTask { try? await informers.run() } }
            group.addTask {
                guard await informers.waitForSync() else { return }
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return }
                    do {
                        try await pass()
                    } catch {
                        logger.warning("\(what) failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}
