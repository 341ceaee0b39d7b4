/// A condition of a ``Txn``, checked against the state just before the transaction is applied.
public enum Compare: Sendable, Equatable {
    /// The key does not exist.
    case absent(String)
    /// The key exists.
    case exists(String)
    /// The key's `modRevision` equals the given revision. As in etcd, an absent key has mod revision 0, so
    /// `.modRevision(key, equals: 0)` holds exactly when the key is absent.
    case modRevision(String, equals: Int64)

    /// The key this condition is about.
    public var key: String {
        switch self {
        case .absent(let key), .exists(let key), .modRevision(let key, _): key
        }
    }
}
