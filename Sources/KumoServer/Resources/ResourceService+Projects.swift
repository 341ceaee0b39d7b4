import KumoModel
import KumoStore

extension ResourceService {
    /// Kinds whose objects live inside a project (events excepted: they go with the project silently).
    static var projectContentKinds: [Kind] { Kind.allCases.filter { $0.scope == .project } }

    /// Before a Project is deleted: refuse when it still holds objects (unless cascade), else delete them, each with
    /// its history record. The project's events are deleted either way.
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
            while true {
                let page = try await kumo { try await store.list(prefix: prefix, startAfter: nil, limit: 200) }
                if page.items.isEmpty { break }
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
    }
}
