// The source half of a control plane and the typed caches live in KumoInformers; re-exported so that controllers,
// the server's in-process control plane and their tests see them with KumoControllers.
@_exported import KumoInformers
import KumoModel

/// What controllers need from the control plane. The server implements it in process over its resource service
/// (same validation, ownership and history as the API); tests can run controllers against a real server the same
/// way. Every write names its manager (`scheduler`, `workloads`, `node-lifecycle`).
///
/// It is an `ObjectSource` (list of a kind with its revision, watch from a revision), so a typed
/// `KumoInformers.ObjectCache` can follow it.
public protocol ControlPlane: ObjectSource {
    func create(_ kind: Kind, project: String?, _ object: JSONValue, manager: String) async throws(KumoError) -> JSONValue
    /// JSON merge patch.
    func patch(_ kind: Kind, project: String?, name: String, _ patch: JSONValue, manager: String, force: Bool)
        async throws(KumoError) -> JSONValue
    /// Deletes an object; a bound Replica/Instance gracefully (its agent stops it first) unless `force`.
    func delete(_ kind: Kind, project: String?, name: String, manager: String, force: Bool) async throws(KumoError)
    /// Binds a replica or instance to a node: node + address + MAC (+ annotations, e.g. the placement
    /// explanation) in one write.
    func bind(
        _ kind: Kind, project: String, name: String, node: String, manager: String, annotations: [String: String]
    ) async throws(KumoError) -> JSONValue
    /// Every node's heartbeat lease record (`{node, holder, renewTime, durationSeconds}`).
    func leases() async throws(KumoError) -> [JSONValue]
    /// Records an Event about an object (best effort).
    func event(regarding kind: Kind, project: String?, name: String, reason: String, message: String, type: String, source: String) async
}
