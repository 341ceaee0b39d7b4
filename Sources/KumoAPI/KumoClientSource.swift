import KumoInformers
import KumoModel

/// An `ObjectSource` over the HTTP API, for caches outside the server (the agent, simulated agents, tools). Lists
/// across projects page by page and watches with `since=`; `fieldSelector` and `labelSelector` narrow both, so an
/// agent's cache holds only what is bound to its node:
///
///     let source = KumoClientSource(client: client, fieldSelector: "spec.nodeName=\(node)")
///     let replicas = ObjectCache<ReplicaSpec>(source: source, logger: logger)
///
/// The server shows each token only what it may read (a node token: its node's replicas, its replicas' secrets).
public struct KumoClientSource: ObjectSource {
    public let client: KumoClient
    public var fieldSelector: String?
    public var labelSelector: String?
    /// Objects per list request (the server's maximum is 500).
    public var pageSize: Int

    public init(client: KumoClient, fieldSelector: String? = nil, labelSelector: String? = nil, pageSize: Int = 500) {
        self.client = client
        self.fieldSelector = fieldSelector
        self.labelSelector = labelSelector
        self.pageSize = pageSize
    }

    var selectors: [(String, String)] {
        (fieldSelector.map { [("fieldSelector", $0)] } ?? []) + (labelSelector.map { [("labelSelector", $0)] } ?? [])
    }

    /// Every page; the revision is the first page's. Later pages are read later and may hold newer versions: the
    /// watch from the first page's revision replays what changed meanwhile, and the cache drops what it already
    /// has. (The last page's revision would lose a change made, meanwhile, to an object of an earlier page.)
    public func list(_ kind: Kind) async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        var items: [JSONValue] = []
        var revision: Int64? = nil
        var next: String? = nil
        repeat {
            var query = selectors + [("limit", String(pageSize))]
            if let next { query.append(("continue", next)) }
            let page = try await client.send(.GET, APIPaths.collection(kind, project: nil), query: query)
                .decode(ObjectList.self)
            if revision == nil {
                guard let first = Int64(page.metadata.revision) else {
                    throw KumoError(.internal, "failed to list \(kind.plural): the list carries no revision")
                }
                revision = first
            }
            items += page.items
            next = page.metadata.continue
        } while next != nil
        return (items, revision ?? 0)
    }

    public func watch(_ kind: Kind, since: Int64) async throws(KumoError) -> AsyncThrowingStream<ObjectEvent, any Error> {
        let wire = try await client.watch(
            APIPaths.collection(kind, project: nil), query: selectors + [("since", String(since))])
        return ObjectEvent.stream(from: wire) { event -> ObjectEvent? in
            guard let type = ObjectEvent.EventType(rawValue: event.type) else { return nil }  // a type this client does not know
            guard let revision = event.object["metadata"]?["resourceVersion"]?.stringValue.flatMap({ Int64($0) }) else {
                throw KumoError(.internal, "a \(kind.rawValue) watch event carries no resourceVersion")
            }
            return ObjectEvent(type: type, object: event.object, revision: revision)
        }
    }
}
