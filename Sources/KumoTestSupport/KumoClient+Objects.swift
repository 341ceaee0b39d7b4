import KumoAPI
import KumoModel

// The object calls tests make over and over, as one line each. (`get` is still KumoTestbed's, in LocalCloud.swift,
// and KumoServerTests' own copy in TestServer.swift: it moves here when LocalCloud's copy goes, since the two
// would be ambiguous in the targets that import both.)
extension KumoClient {
    /// POST of `object` into its collection; the created object as the server returned it.
    public func create(_ object: JSONValue, kind: Kind, project: String? = nil, manager: String? = nil) async throws -> JSONValue {
        try await send(
            .POST, APIPaths.collection(kind, project: project), query: manager.map { [("manager", $0)] } ?? [],
            body: object.serialized()
        ).json()
    }

    /// JSON merge patch of one object; the patched object.
    public func mergePatch(
        _ kind: Kind, _ name: String, project: String? = nil, _ patch: JSONValue, query: [(String, String)] = []
    ) async throws -> JSONValue {
        try await send(
            .PATCH, APIPaths.object(kind, project: project, name: name), query: query, body: patch.serialized(),
            contentType: mergePatchContentType
        ).json()
    }
}
