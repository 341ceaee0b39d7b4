extension SQLiteStore {
    /// Tuning of a ``SQLiteStore``.
    public struct Options: Sendable {
        /// How hard a commit waits for the disk before it is acknowledged.
        public enum Synchronous: String, Sendable, Codable {
            /// WAL + `synchronous=NORMAL`: a committed transaction has been written (write(2)) to the WAL file
            /// before the caller is answered, so it survives `kill -9` of the process but not a power loss or
            /// kernel crash (the WAL is fsynced only at checkpoints).
            case normal
            /// WAL + `synchronous=FULL`: the WAL is fsynced on every commit (one fsync per group-commit batch),
            /// so an acknowledged write also survives power loss.
            case full
        }

        /// Durability of acknowledged writes. Default `.normal`.
        ///
        /// Measured with `store-measure` / kumo-bench's `StoreScenario` (release build, 2 cores, ext4 on a virtio
        /// disk, 5 s per run, one 100-byte put per commit over 10 000 keys, N writers each committing in a loop;
        /// reads: 4 tasks doing `get` of random keys). Ranges over 3 runs taken while another `swift build` kept
        /// the load average at 3–8, so treat them as lower bounds:
        ///
        /// | writers | `.normal` writes/s | p50 / p99 ms      | `.full` writes/s | p50 / p99 ms      |
        /// |--------:|-------------------:|------------------:|-----------------:|------------------:|
        /// |       1 |        5 800–9 000 | 0.1 / 0.4–4       |        640–2 400 | 0.3–0.4 / 4–7     |
        /// |       8 |      18 000–21 000 | 0.2–0.3 / 6–10    |     2 900–17 000 | 0.4–0.8 / 3–12    |
        /// |      64 |      23 000–33 000 | 1.1–1.3 / 10–19   |    15 000–27 000 | 1.7–3.8 / 10–16   |
        /// |     256 |      33 000–41 000 | 4.6–5.6 / 20–37   |    25 000–43 000 | 5.0–8.9 / 16–28   |
        ///
        /// Reads: 18 000–33 000 `get`/s with 4 readers in either mode. `.full` depends on the disk's fsync latency
        /// (0.4–1.5 ms here); group commit is what makes it usable: every commit queued while one transaction is
        /// written shares the next fsync. `kill -9` of a writer with 16 concurrent committers lost none of 19k–78k
        /// acknowledged writes in `.normal` (`store-measure --crash-writer` / `--verify`).
        public var synchronous: Synchronous
        /// Live events a watcher may have buffered (delivered to the store but not yet consumed) before its
        /// stream is finished with `KumoError(.gone, "watch fell behind ...")`. Default 10 000.
        public var watchBufferLimit: Int
        /// Most commits written in one SQLite transaction. Default 512.
        public var maxBatch: Int
        /// Log rows read per query while a watch replays history. Default 256.
        public var replayPageSize: Int

        public init(
            synchronous: Synchronous = .normal, watchBufferLimit: Int = 10_000, maxBatch: Int = 512,
            replayPageSize: Int = 256
        ) {
            self.synchronous = synchronous
            self.watchBufferLimit = max(1, watchBufferLimit)
            self.maxBatch = max(1, maxBatch)
            self.replayPageSize = max(1, replayPageSize)
        }
    }
}
