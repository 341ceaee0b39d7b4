import KumoModel

/// Field ownership, the pure part: which owned fields a write changes, whose they are, and the new owner map.
///
/// Owned fields are each label key (`metadata.labels.<key>`), each annotation key (`metadata.annotations.<key>`),
/// each top-level spec field (`spec.<field>`) and each top-level status field (`status.<field>`).
/// A write by manager M that changes or removes a field owned by another manager is a conflict, unless forced
/// (then ownership moves to M and the move is reported so it can be recorded). Fields a write leaves as they
/// are keep their owner, so a merge patch that does not touch another manager's field never conflicts.
public struct FieldOwnership: Sendable, Equatable {
    public struct Conflict: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var owner: String
        public var description: String { "\(field) (owned by \(owner))" }
    }

    public struct Transfer: Sendable, Equatable {
        public var field: String
        public var previousOwner: String
    }

    /// The owner map after the write.
    public var owners: [String: String]
    /// Other managers' fields this write changes or removes (empty when forced).
    public var conflicts: [Conflict]
    /// Fields taken from another manager with force.
    public var transfers: [Transfer]

    /// - Parameters:
    ///   - old: the stored object (nil on create)
    ///   - new: the object as it would be stored
    ///   - owners: the stored owner map
    public init(old: JSONValue?, new: JSONValue, owners: [String: String], manager: String, force: Bool) {
        let before = old.map(Self.fields(of:)) ?? [:]
        let after = Self.fields(of: new)
        var result = owners.filter { after[$0.key] != nil }  // removed fields lose their owner entry
        var conflicts: [Conflict] = []
        var transfers: [Transfer] = []
        for field in Set(before.keys).union(after.keys).sorted() where before[field] != after[field] {
            if let owner = owners[field], owner != manager {
                if force {
                    transfers.append(Transfer(field: field, previousOwner: owner))
                } else {
                    conflicts.append(Conflict(field: field, owner: owner))
                    continue
                }
            }
            if after[field] != nil { result[field] = manager }
        }
        // Fields present but never owned (objects from before ownership existed) are adopted by nobody:
        // the first manager to change them takes them.
        self.owners = result
        self.conflicts = conflicts
        self.transfers = transfers
    }

    /// The owned fields of an object and their values.
    public static func fields(of object: JSONValue) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        if let labels = object["metadata"]?["labels"]?.objectValue {
            for (k, v) in labels { out["metadata.labels." + k] = v }
        }
        if let annotations = object["metadata"]?["annotations"]?.objectValue {
            for (k, v) in annotations { out["metadata.annotations." + k] = v }
        }
        for top in ["spec", "status"] {
            if let o = object[top]?.objectValue {
                for (k, v) in o where !v.isNull { out[top + "." + k] = v }
            }
        }
        return out
    }

    /// Removes `field` (an owned-field path) from `object`.
    public static func remove(_ field: String, from object: inout JSONValue) {
        for prefix in ["metadata.labels.", "metadata.annotations."] where field.hasPrefix(prefix) {
            let key = String(field.dropFirst(prefix.count))
            let mapName = prefix == "metadata.labels." ? "labels" : "annotations"
            guard var meta = object["metadata"]?.objectValue, var map = meta[mapName]?.objectValue else { return }
            map[key] = nil
            meta[mapName] = map.isEmpty ? nil : .object(map)
            object["metadata"] = .object(meta)
            return
        }
        for top in ["spec.", "status."] where field.hasPrefix(top) {
            let name = String(top.dropLast())
            guard var o = object[name]?.objectValue else { return }
            o[String(field.dropFirst(top.count))] = nil
            object[name] = .object(o)
            return
        }
    }

    /// Server-side apply: the stored object with the applied object's owned fields laid over it, and the fields
    /// `manager` owned before but did not apply now removed. Non-owned parts (name, project) come from `applied`.
    public static func applied(_ applied: JSONValue, over current: JSONValue, owners: [String: String], manager: String)
        -> JSONValue
    {
        var result = current
        let appliedFields = fields(of: applied)
        for (field, owner) in owners where owner == manager && appliedFields[field] == nil {
            remove(field, from: &result)
        }
        // Lay applied fields over the result, field by field.
        guard var meta = result["metadata"]?.objectValue else { return applied }
        for mapName in ["labels", "annotations"] {
            if let add = applied["metadata"]?[mapName]?.objectValue {
                var map = meta[mapName]?.objectValue ?? [:]
                for (k, v) in add { map[k] = v }
                meta[mapName] = .object(map)
            }
        }
        result["metadata"] = .object(meta)
        for top in ["spec", "status"] {
            if let add = applied[top]?.objectValue {
                var o = result[top]?.objectValue ?? [:]
                for (k, v) in add { o[k] = v.isNull ? nil : v }
                result[top] = .object(o)
            }
        }
        return result
    }
}
