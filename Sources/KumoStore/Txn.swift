import KumoModel

/// An atomic compare-and-write: if every compare holds, every operation is applied under one new revision.
///
/// As in etcd, one transaction may write each key at most once (``Store/commit(_:)`` rejects a duplicate with
/// `KumoError(.invalid)`), and a transaction that changes nothing (no operations, or only deletes of absent keys)
/// allocates no revision.
public struct Txn: Sendable {
    public var compares: [Compare]
    public var operations: [Operation]

    public init(compares: [Compare] = [], operations: [Operation]) {
        self.compares = compares
        self.operations = operations
    }

    /// Throws `KumoError(.invalid)` naming the first key written twice, or an empty key.
    func validate() throws {
        var seen = Set<String>()
        seen.reserveCapacity(operations.count)
        for operation in operations {
            let key = operation.key
            if key.isEmpty {
                throw KumoError(.invalid, "failed to commit: empty key", field: key)
            }
            if !seen.insert(key).inserted {
                throw KumoError(.invalid, "failed to commit: key \(key) is written twice in one transaction", field: key)
            }
        }
        for compare in compares where compare.key.isEmpty {
            throw KumoError(.invalid, "failed to commit: compare on an empty key", field: compare.key)
        }
    }
}
