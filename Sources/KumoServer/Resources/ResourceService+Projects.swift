import KumoModel
import KumoStore

extension ResourceService {
    /// Kinds whose objects live inside a project (events excepted: they go with the project silently).
    static var projectContentKinds: [Kind] { Kind.allCases.filter { $0.scope == .project } }

    /// Before a Project is deleted: refuse when it still holds objects (unless cascade), else delete them, each with
    /// its history record. The project's events are deleted either way. A replica or instance bound to a node is only
    /// marked Terminating, and while one is left the project stays (409: delete it again once its agent is done).
    func deleteProjectContents(_ project: String, cascade: Bool, options: WriteOptions) async throws(KumoError) {
        var counts: [(Kind, Int)] = []
        for kind in Self.projectContentKinds {
            let page = try await kumo {
                try await store.list(prefix: StoreKeys.collectionPrefix(kind, project: project), startAfter: nil, limit: 1)
            }
            if !page.items.isEmpty { counts.append((kind, page.items.count)) }
        }
        if !counts.isEmpty && !cascade {
            let what = counts.map { $0.0.plural }.joined(separator: ", ")
            throw KumoError(
                .conflict,
                "project \"\(project)\" still holds objects (\(what)); delete them first or use ?cascade=true",
                field: "metadata.name")
        }
        for kind in Self.projectContentKinds + [.event] {
            let prefix = StoreKeys.collectionPrefix(kind, project: project)
            // Page on past each key: a replica or instance bound to a node is only marked Terminating here (its agent
            // stops it, then deletes it), so it is still listed afterwards. Listing from the start again spun forever
            // on such a project and the DELETE never answered (found by make fuzz).
            var after: String? = nil
            while true {
                let page = try await kumo { try await store.list(prefix: prefix, startAfter: after, limit: 200) }
                guard let last = page.items.last else { break }
                after = last.key
                for kv in page.items {
                    guard let ref = ObjectRef.parse(storeKey: kv.key) else { continue }
                    do {
                        _ = try await delete(ref, precondition: nil, cascade: false, options: options)
                    } catch let e where e.code == .notFound {
                        continue
                    }
                }
            }
        }
        // What is still there (stopping on its node, or created meanwhile) keeps the project: deleting it now would
        // leave those objects in a project that no longer exists.
        var remaining: [String] = []
        for kind in Self.projectContentKinds {
            let page = try await kumo {
                try await store.list(prefix: StoreKeys.collectionPrefix(kind, project: project), startAfter: nil, limit: 5)
            }
            remaining += page.items.compactMap { ObjectRef.parse(storeKey: $0.key).map { "\(kind.rawValue.lowercased())/\($0.name)" } }
        }
        if !remaining.isEmpty {
            throw KumoError(
                .conflict,
                "project \"\(project)\" still holds objects that are stopping on their nodes (\(remaining.joined(separator: ", "))): "
                    + "delete it again once they are gone",
                field: "metadata.name")
        }
    }
}
