import Foundation
import KumoAPI
import KumoModel

/// The instance (VM) calls of a node agent (the supervisor follows the instances in an informer): write their status, finish
/// a graceful deletion, post events about them.
extension AgentAPI {
    public func patchInstanceStatus(project: String, name: String, _ status: JSONValue) async throws(KumoError) {
        try await client.send(
            .PATCH, APIPaths.object(.instance, project: project, name: name),
            body: JSONValue.object(["status": status]).serialized(), contentType: mergePatchContentType)
    }

    public func finishInstanceDeletion(project: String, name: String) async throws(KumoError) {
        do {
            try await client.send(.DELETE, APIPaths.object(.instance, project: project, name: name))
        } catch where error.code == .notFound {}
    }
}

extension AgentAPI {
    public func instanceEvent(project: String, instance: String, reason: String, message: String, warning: Bool = false) async {
        await post(event: reason, regarding: .instance, project: project, name: instance, message: message, warning: warning)
    }
}
