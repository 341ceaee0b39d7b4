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
            throw Self.noSubnet(config.nodeName)
        }
        return net
    }

    /// `register`, retried while the server is unreachable (an agent may start before its server) and while the
    /// node has no pod subnet (the cluster CIDR is used up: the server's IPAM hands it a freed one later, and the
    /// agent takes it then, without a restart). Each kind of wait is logged as what it is, once a minute at most,
    /// and reported to `waiting` (nil never: the caller clears it on return).
    func registerWaiting(
        agentURL: String, addresses: [String], maxDelay: Duration = .seconds(5), waiting: (String) -> Void = { _ in }
    ) async throws(KumoError) -> IPv4Network {
        var delay = Duration.milliseconds(200)
        var lastLogged: (message: String, at: ContinuousClock.Instant)?
        while true {
            do {
                let subnet = try await register(agentURL: agentURL, addresses: addresses)
                if lastLogged != nil { logger.notice("registered with a pod subnet", metadata: ["subnet": "\(subnet)"]) }
                return subnet
            } catch where error.code == .unavailable {
                let waitingForSubnet = error.field == "spec.podCIDR"
                let message = waitingForSubnet ? "no pod subnet yet; waiting for one" : "server unreachable; retrying registration"
                if lastLogged.map({ $0.message != message || ContinuousClock.now - $0.at > .seconds(60) }) ?? true {
                    logger.warning("\(message)", metadata: ["error": "\(error.message)"])
                    lastLogged = (message, ContinuousClock.now)
                }
                waiting(error.message)
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, waitingForSubnet ? min(maxDelay, .seconds(2)) : maxDelay)
                if Task.isCancelled { throw error }
            }
        }
    }

    /// The node is registered but has no pod subnet: the cluster CIDR is used up (the server's `SubnetExhausted`
    /// event says so). Not "server unreachable": the agent waits for IPAM to hand it a freed subnet.
    static func noSubnet(_ node: String) -> KumoError {
        KumoError(
            .unavailable,
            "node \(node) is registered but has no pod subnet (spec.podCIDR): the cluster CIDR is used up; waiting for "
                + "the server's IPAM to hand it one (when a node is deleted, or the server gets a larger --cluster-cidr)",
            field: "spec.podCIDR")
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
