import Foundation
import KumoAPI
import KumoModel
import Logging

/// Puts this node on the map: creates its Node (the server's IPAM gives it a pod subnet) or finds it again after
/// a restart, and publishes what the scheduler and the server's proxy need — capacity, addresses, agent URL —
/// as a merge patch of the agent's own fields (never replacing other managers' fields).
struct NodeRegistration: Sendable {
    let api: AgentAPI
    let config: AgentConfiguration
    let logger: Logger

    /// Returns the node's pod subnet.
    func register(agentURL: String, addresses: [String]) async throws(KumoError) -> IPv4Network {
        var node = try await api.getNode()
        if node == nil {
            var meta: [String: JSONValue] = ["name": .string(config.nodeName)]
            if !config.labels.isEmpty { meta["labels"] = .object(config.labels.mapValues { .string($0) }) }
            let object: JSONValue = [
                "apiVersion": .string(Kind.apiVersion), "kind": "Node", "metadata": .object(meta), "spec": [:],
            ]
            do {
                node = try await api.createNode(object)
                logger.notice("registered node", metadata: ["node": "\(config.nodeName)"])
            } catch where error.code == .alreadyExists {
                node = try await api.getNode()
            }
        } else if !config.labels.isEmpty {
            node = try await api.patchNode(["metadata": ["labels": .object(config.labels.mapValues { .string($0) })]])
        }
        let capacity: JSONValue = [
            "cpu": .string(CPUQuantity(millicores: Int64(config.cpuMillicores)).description),
            "memory": .string(MemoryQuantity(bytes: config.memoryBytes).description),
        ]
        let status: JSONValue = [
            "agentURL": .string(agentURL), "addresses": .array(addresses.map { .string($0) }),
            "capacity": capacity, "allocatable": capacity,
            "info": [
                "agentVersion": .string(AgentConfiguration.version), "kernel": .string(Self.kernel()),
                "os": "linux", "arch": .string(Self.arch()),
            ],
        ]
        node = try await api.patchNode(["status": status])
        guard let cidr = node?["spec"]?["podCIDR"]?.stringValue, let net = IPv4Network(cidr) else {
            throw KumoError(
                .unavailable, "node \(config.nodeName) has no pod subnet (spec.podCIDR): the server's IPAM gave none")
        }
        return net
    }

    static func kernel() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func arch() -> String {
        #if arch(x86_64)
            "amd64"
        #elseif arch(arm64)
            "arm64"
        #else
            "unknown"
        #endif
    }
}
