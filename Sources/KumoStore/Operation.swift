/// A write of a ``Txn``.
///
/// Note: Foundation also declares an `Operation` class; a file importing both Foundation and KumoStore spells
/// this one `KumoStore.Operation` where the name would be ambiguous.
public enum Operation: Sendable, Equatable {
    /// Create or replace the key's value.
    case put(String, [UInt8])
    /// Delete the key; deleting an absent key is a no-op.
    case delete(String)

    /// The key this operation writes.
    public var key: String {
        switch self {
        case .put(let key, _), .delete(let key): key
        }
    }
}
