import Foundation
import KumoAPI
import KumoModel

extension AgentAPI {
    /// One secret's values and the revision they were read at (its `resourceVersion`).
    public struct SecretVersion: Sendable, Equatable {
        public var revision: Int64
        public var data: [String: [UInt8]]
    }

    /// A secret's keys and decoded values (allowed while a replica bound here refers to it).
    public func secret(project: String, name: String) async throws(KumoError) -> [String: [UInt8]] {
        try await secretVersion(project: project, name: name).data
    }

    /// A secret with its revision: a newer version from the watch replaces it, an older one does not.
    public func secretVersion(project: String, name: String) async throws(KumoError) -> SecretVersion {
        let object = try await client.send(.GET, APIPaths.object(.secret, project: project, name: name)).json()
        return try Self.secretVersion(of: object)
    }

    /// The secrets this node's replicas reference (all projects, page by page; the server shows a node no
    /// others) and the revision to watch from.
    public func listSecrets() async throws(KumoError) -> (items: [JSONValue], revision: Int64) {
        try await listAll(.secret, query: [])
    }

    /// Changes of the secrets this node's replicas reference: the server sends a secret's events only while a
    /// replica bound here uses it.
    public func watchSecrets(since: Int64) async throws(KumoError) -> AsyncThrowingStream<WatchEventWire, any Error> {
        try await client.watch(APIPaths.collection(.secret, project: nil), query: [("since", String(since))])
    }

    /// A served Secret → its decoded values and revision.
    static func secretVersion(of object: JSONValue) throws(KumoError) -> SecretVersion {
        let name = object["metadata"]?["name"]?.stringValue ?? "?"
        var data: [String: [UInt8]] = [:]
        for (key, value) in object["spec"]?["data"]?.objectValue ?? [:] {
            guard let text = value.stringValue, let bytes = Data(base64Encoded: text) else {
                throw KumoError(.invalid, "secret \(name) has a value that is not base64 (key \(key))", field: "spec.data.\(key)")
            }
            data[key] = Array(bytes)
        }
        let revision = object["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) } ?? 0
        return SecretVersion(revision: revision, data: data)
    }
}
