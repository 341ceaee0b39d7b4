import KumoModel
import KumoStore

extension ResourceService {
    /// The objects at `keys` (all of one kind) that `filter` admits, as they are now, as a list at `revision`.
    ///
    /// With the keys of the `NodeBindingIndex` and the revision through which it has applied every event, a list +
    /// watch from `revision` converges to exactly what a scan would: an object bound to the node at or before
    /// `revision` is among the keys; one bound later, or changed later, comes with the watch. An object newer than
    /// `revision` is listed as it is now, and the watch replays its changes up to now — which a cache that keeps
    /// the newest revision per key (`ObjectCache`) ignores — so what a client just wrote is in the list.
    func list(keys: [String], atRevision revision: Int64, filter: ListFilter) async throws(KumoError) -> ListPage {
        var items: [JSONValue] = []
        for key in keys {
            // deleted since the index saw it: a watch from `revision` delivers the deletion
            guard let kv = try await kumo({ try await store.get(key) }) else { continue }
            let stored = try ObjectCodec.decodeStored(kv.value, key: kv.key)
            let object = ObjectCodec.served(openedLeniently(stored), revision: kv.modRevision)
            if filter.matches(object) { items.append(object) }
        }
        return ListPage(items: items, revision: revision, continueToken: nil)
    }
}
