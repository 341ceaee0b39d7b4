import KumoModel
import Logging

/// Typed reads of a cache. An object that does not decode is left out of the controller's decision — and said so,
/// once per object version (a silent `try?` let the scheduler overcommit and node lifecycle never evict it).
extension ObjectCache {
    /// Every object of the cache that decodes as `T`.
    public func decoded<T: Decodable>(as type: T.Type, logger: Logger) -> [T] {
        all.compactMap { decode($0, as: type, logger: logger) }
    }

    /// One object as `T`, nil (logged once per resourceVersion, counted in `decodeFailures`) when it does not decode.
    public func decode<T: Decodable>(_ object: JSONValue, as type: T.Type, logger: Logger) -> T? {
        do {
            return try KumoModel.decode(object, as: type)
        } catch {
            let key = Self.key(object) + "@" + (object["metadata"]?["resourceVersion"]?.stringValue ?? "")
            let first = reportedDecodeFailures.withLock { seen in
                if seen.count > 10_000 { seen.removeAll() }  // bounded: a flood of bad objects must not grow memory
                return seen.insert(key).inserted
            }
            if first {
                logger.error(
                    "object left out of the decision: it does not decode",
                    metadata: ["kind": "\(kind.rawValue)", "object": "\(key)", "error": "\(error)"])
            }
            return nil
        }
    }

    /// How many distinct object versions failed to decode (for state dumps).
    public var decodeFailures: Int { reportedDecodeFailures.withLock { $0.count } }
}
