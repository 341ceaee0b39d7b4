import KumoModel

/// The pure core of `ObjectCache`: the objects by key, what the source last said about each key, and the indexes.
/// No I/O and no locks: `ObjectCache` holds it in a mutex and feeds it list results, watch events and its
/// controller's own writes; every rule about versions lives here and is tested as values.
///
/// The rules:
/// - A change is taken once. The source's newest revision per key (`delivered`, or `tombstones` for a deleted
///   key) is remembered; an event or listed item at or below it is a replay (a watch resumed just before its last
///   revision, a list page newer than the list's revision) and is dropped.
/// - A newer version wins: a controller's own write (`remember`) is not replaced by an older version arriving
///   late from the watch, and an object deleted since is not brought back by it.
/// - A version that does not decode (`Item.value` nil) is counted as delivered, but the last version that did
///   decode stays: a controller keeps deciding on what it last understood rather than on a hole (a workload that
///   vanished from the cache would have its replicas deleted; a bound replica that vanished would let the
///   scheduler overcommit its node). A deletion needs no decoding.
/// - A relist is a diff: listed objects newer than the cache's are changes, unchanged ones are not, and cached
///   objects the list no longer has (at or below its revision) are deletions. Nothing missed, nothing twice.
struct CacheState<Spec: ResourceSpec>: Sendable {
    typealias Value = Object<Spec>
    typealias IndexFunction = @Sendable (Value) -> [String]

    /// One object as the source delivered it; `value` nil when it did not decode as `Object<Spec>`.
    struct Item: Sendable {
        var key: String
        var revision: Int64
        var value: Value?
    }

    private struct Index: Sendable {
        let function: IndexFunction
        var entries: [String: Set<String>] = [:]
    }

    private(set) var objects: [String: Value] = [:]
    /// Per key the source shows: the newest revision delivered (also of a version that did not decode).
    private(set) var delivered: [String: Int64] = [:]
    /// Recently deleted keys → the revision of the deletion.
    private(set) var tombstones: [String: Int64] = [:]
    /// The revision of the last list: an object absent from the cache at a version at or below it was deleted
    /// (the list would have had it).
    private(set) var listRevision: Int64 = 0
    private var indexes: [String: Index] = [:]
    /// At most this many tombstones are kept (the oldest half is dropped beyond); they only need to outlive the
    /// writes in flight when the deletion was seen.
    let tombstoneLimit: Int

    init(tombstoneLimit: Int = 10_000) {
        self.tombstoneLimit = tombstoneLimit
    }

    /// The newest revision the source delivered for `key`, present or deleted (0: none).
    func known(_ key: String) -> Int64 { max(delivered[key] ?? 0, tombstones[key] ?? 0) }

    /// Whether a listed or watched version of `key` at `revision` is new here (and worth decoding).
    func isNew(_ key: String, revision: Int64) -> Bool { revision > known(key) }

    // MARK: Changes

    /// One watch event. Returns the change to report, if the cache's contents changed.
    mutating func apply(_ type: ObjectEvent.EventType, _ item: Item) -> ObjectChange<Spec>? {
        guard isNew(item.key, revision: item.revision) else { return nil }
        if type == .deleted {
            delivered[item.key] = nil
            bury(item.key, at: item.revision)
            guard let old = objects.removeValue(forKey: item.key) else { return nil }
            reindex(item.key, old: old, new: nil)
            return ObjectChange(key: item.key, old: old, new: nil, revision: item.revision)
        }
        tombstones[item.key] = nil
        delivered[item.key] = item.revision
        guard let value = item.value else { return nil }
        return put(item.key, value, revision: item.revision)
    }

    /// A full list read at `revision`. Returns the changes against what the cache had, in the list's order, then
    /// the deletions in key order.
    mutating func relist(_ items: [Item], revision: Int64) -> [ObjectChange<Spec>] {
        var changes: [ObjectChange<Spec>] = []
        var listed = Set<String>()
        listed.reserveCapacity(items.count)
        for item in items {
            listed.insert(item.key)
            guard isNew(item.key, revision: item.revision) else { continue }
            tombstones[item.key] = nil
            delivered[item.key] = item.revision
            if let value = item.value, let change = put(item.key, value, revision: item.revision) { changes.append(change) }
        }
        listRevision = max(listRevision, revision)
        for key in objects.keys.sorted() where !listed.contains(key) {
            let old = objects[key]!
            // newer than the list (a write remembered meanwhile, an event after it): the watch will tell
            guard max(old.resourceRevision, delivered[key] ?? 0) <= revision else { continue }
            objects[key] = nil
            delivered[key] = nil
            reindex(key, old: old, new: nil)
            changes.append(ObjectChange(key: key, old: old, new: nil, revision: revision))
        }
        // versions that never decoded and are gone; deletions the list has confirmed
        delivered = delivered.filter { listed.contains($0.key) || objects[$0.key] != nil || $0.value > revision }
        tombstones = tombstones.filter { $0.value > revision }
        return changes
    }

    /// A controller's own write, kept until the watch delivers it (or something newer). Whether it was kept.
    mutating func remember(_ value: Value) -> Bool {
        let key = value.cacheKey
        let revision = value.resourceRevision
        guard revision > known(key) else { return false }  // the source already said this or newer
        if let current = objects[key] {
            guard revision > current.resourceRevision else { return false }
        } else if revision <= listRevision {
            return false  // absent, though the last list was read after this version: deleted since
        }
        _ = put(key, value, revision: revision)
        return true
    }

    /// Stores `value` unless a newer version is here; the change, if it was stored.
    private mutating func put(_ key: String, _ value: Value, revision: Int64) -> ObjectChange<Spec>? {
        let old = objects[key]
        if let old, old.resourceRevision > revision { return nil }  // a newer own write (`remember`) is here
        objects[key] = value
        reindex(key, old: old, new: value)
        return ObjectChange(key: key, old: old, new: value, revision: revision)
    }

    private mutating func bury(_ key: String, at revision: Int64) {
        tombstones[key] = revision
        guard tombstones.count > tombstoneLimit else { return }
        let keep = tombstones.sorted { $0.value > $1.value }.prefix(tombstoneLimit / 2)
        tombstones = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }

    // MARK: Indexes

    /// Adds (or replaces) index `name` and fills it from the objects already here.
    mutating func addIndex(_ name: String, _ function: @escaping IndexFunction) {
        var index = Index(function: function)
        for (key, value) in objects {
            for entry in function(value) { index.entries[entry, default: []].insert(key) }
        }
        indexes[name] = index
    }

    /// The keys of the objects whose index `name` yields `value`, sorted; nil when there is no such index.
    func keys(index name: String, value: String) -> [String]? {
        guard let index = indexes[name] else { return nil }
        return (index.entries[value] ?? []).sorted()
    }

    /// The values index `name` holds (those with at least one object), sorted; nil when there is no such index.
    func values(index name: String) -> [String]? {
        indexes[name].map { $0.entries.keys.sorted() }
    }

    private mutating func reindex(_ key: String, old: Value?, new: Value?) {
        for name in indexes.keys {
            let function = indexes[name]!.function
            let before = Set(old.map(function) ?? [])
            let after = Set(new.map(function) ?? [])
            guard before != after else { continue }
            for entry in before.subtracting(after) {
                indexes[name]!.entries[entry]?.remove(key)
                if indexes[name]!.entries[entry]?.isEmpty == true { indexes[name]!.entries[entry] = nil }
            }
            for entry in after.subtracting(before) { indexes[name]!.entries[entry, default: []].insert(key) }
        }
    }
}
