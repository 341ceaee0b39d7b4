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
        /// Measured with `store-measure` (release build, 2 cores, ext4-backed overlay, 5 s per run, one 100-byte
        /// put per commit, concurrent writers each committing in a loop; reads: 4 tasks doing `get`
        /// of random keys while the writers run):
        ///
        /// | writers | `.normal` writes/s | p50 / p99 ms | `.full` writes/s | p50 / p99 ms |
        /// |--------:|-------------------:|-------------:|-----------------:|-------------:|
        /// |       8 |             MEASURE_N8 |          … |           MEASURE_F8 |            … |
        ///
        /// Group commit is what makes `.full` usable: all commits waiting while one transaction is written
        /// share the next fsync.
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
