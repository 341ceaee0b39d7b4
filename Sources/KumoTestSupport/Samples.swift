import KumoModel

/// Valid sample API objects as the server takes them (JSON, as a client writes them): the smallest object of each
/// kind that is accepted, with the names and labels a test gives. Suites that test validation itself keep their
/// own fully populated samples (KumoModelTests' `KindSamples`).
public enum Sample {
    /// `object` with `spec.nodeName` set, as a creator pins a replica or instance to a node (bound, no address yet).
    public static func pinned(_ object: JSONValue, to node: String) -> JSONValue {
        var pinned = object
        pinned["spec"]?["nodeName"] = .string(node)
        return pinned
    }

    public static func project(_ name: String, labels: [String: String]? = nil) -> JSONValue {
        var meta: [String: JSONValue] = ["name": .string(name)]
        if let labels { meta["labels"] = .object(labels.mapValues { .string($0) }) }
        return ["apiVersion": "kumo/v1", "kind": "Project", "metadata": .object(meta), "spec": ["description": "test"]]
    }

    public static func node(_ name: String, labels: [String: String] = [:]) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": ["unschedulable": false],
        ]
    }

    public static func workload(
        _ name: String, replicas: Int = 2, image: String = "busybox:1.36", labels: [String: String] = [:]
    ) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Workload",
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": [
                "replicas": .number(Double(replicas)),
                "template": [
                    "labels": ["app": .string(name)],
                    "spec": ["image": .string(image), "resources": ["cpu": "250m", "memory": "64Mi"]],
                ],
            ],
        ]
    }

    public static func secret(_ name: String) -> JSONValue {
        ["apiVersion": "kumo/v1", "kind": "Secret", "metadata": ["name": .string(name)], "spec": ["data": ["password": "aHVudGVyMg=="]]]
    }

    public static func service(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Service", "metadata": ["name": .string(name)],
            "spec": ["selector": ["app": "web"], "ports": [["port": 80, "targetPort": 8080]]],
        ]
    }

    public static func replica(_ name: String) -> JSONValue {
        ["apiVersion": "kumo/v1", "kind": "Replica", "metadata": ["name": .string(name)], "spec": ["image": "busybox:1.36"]]
    }

    public static func instance(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Instance", "metadata": ["name": .string(name)],
            "spec": ["image": "debian:12", "vcpus": 1, "memory": "512Mi"],
        ]
    }

    public static func image(_ name: String) -> JSONValue {
        [
            "apiVersion": "kumo/v1", "kind": "Image", "metadata": ["name": .string(name)],
            "spec": ["tags": ["latest": .string("sha256:" + String(repeating: "ab", count: 32))]],
        ]
    }
}
