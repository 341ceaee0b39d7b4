import Foundation
import Testing

@testable import KumoModel

/// Parses a JSON literal written in a test (crashes on a typo in the test itself).
func kindJSON(_ text: String) -> JSONValue {
    try! JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
}

extension JSONValue {
    /// A copy with the value at `path` replaced (`nil` removes it). Numeric segments index arrays.
    func settingField(_ path: [String], to value: JSONValue?) -> JSONValue {
        guard let head = path.first else { return value ?? .null }
        let rest = Array(path.dropFirst())
        switch self {
        case .array(var a):
            let i = Int(head)!
            if rest.isEmpty, value == nil {
                a.remove(at: i)
            } else {
                a[i] = a[i].settingField(rest, to: value)
            }
            return .array(a)
        case .object(var o):
            if rest.isEmpty {
                o[head] = value
            } else {
                o[head] = (o[head] ?? .object([:])).settingField(rest, to: value)
            }
            return .object(o)
        default:
            return JSONValue.object([:]).settingField(path, to: value)
        }
    }

    /// `setting` with a dotted path (no dots in keys).
    func settingField(_ dotted: String, _ value: JSONValue?) -> JSONValue {
        settingField(dotted.split(separator: ".").map(String.init), to: value)
    }
}

/// The error canonicalization throws, or nil if it succeeds.
func canonicalError(_ kind: Kind, _ object: JSONValue) -> KumoError? {
    do {
        _ = try kind.canonicalize(object)
        return nil
    } catch {
        return error
    }
}

/// Asserts that canonicalization fails with a 422 naming `field` (and, if given, containing `message`).
func expectInvalid(
    _ kind: Kind, _ object: JSONValue, field: String, message: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let error = canonicalError(kind, object) else {
        Issue.record("expected \(kind) to be invalid at \(field), but it canonicalized", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == .invalid, sourceLocation: sourceLocation)
    #expect(error.code.httpStatus == 422, sourceLocation: sourceLocation)
    #expect(error.field == field, "\(error.message)", sourceLocation: sourceLocation)
    if let message {
        #expect(error.message.contains(message), "\(error.message)", sourceLocation: sourceLocation)
    }
}

/// Canonicalizes `object`, checks that the result is a fixed point, and returns it.
func expectCanonical(
    _ kind: Kind, _ object: JSONValue, sourceLocation: SourceLocation = #_sourceLocation
) throws -> JSONValue {
    let once = try kind.canonicalize(object)
    let twice = try kind.canonicalize(once)
    #expect(once == twice, "canonical form is not a fixed point", sourceLocation: sourceLocation)
    #expect(once["apiVersion"] == "kumo/v1", sourceLocation: sourceLocation)
    #expect(once["kind"] == .string(kind.rawValue), sourceLocation: sourceLocation)
    return once
}

/// Valid sample objects of every kind.
enum KindSamples {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    static let node = kindJSON(
        """
        {"apiVersion": "kumo/v1", "kind": "Node",
         "metadata": {"name": "worker-1", "labels": {"zone": "a", "kumo.dev/role": "worker"}},
         "spec": {"podCIDR": "10.244.3.0/24", "unschedulable": false,
                  "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
         "status": {"agentURL": "http://192.0.2.11:7070", "addresses": ["192.0.2.11"],
                    "capacity": {"cpu": 4, "memory": "8Gi", "pods": 110},
                    "allocatable": {"cpu": "3500m", "memory": "7Gi", "pods": 100},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "AgentHeartbeat",
                                    "lastTransitionTime": "2025-01-01T00:00:00Z"}],
                    "overlay": {"publicIP": "192.0.2.11", "vtepMAC": "02:aa:bb:cc:dd:ee"},
                    "info": {"agentVersion": "0.1.0", "kernel": "6.8.0", "os": "linux", "arch": "x86_64"}}}
        """)

    static let project = kindJSON(
        """
        {"metadata": {"name": "team-a"},
         "spec": {"description": "Team A", "quota": {"cpu": "16", "memory": "64Gi", "pods": 50}}}
        """)

    static let image = kindJSON(
        """
        {"metadata": {"name": "library/nginx"},
         "spec": {"tags": {"latest": "\(digest)", "1.25": "\(digest)"}},
         "status": {"sizeBytes": 187000000, "layers": 7, "digests": ["\(digest)"]}}
        """)

    static let workload = kindJSON(
        """
        {"apiVersion": "kumo/v1", "kind": "Workload",
         "metadata": {"name": "web", "project": "team-a", "labels": {"app": "web"}},
         "spec": {"replicas": 3, "selector": {"app": "web"},
                  "template": {"labels": {"app": "web", "tier": "frontend"},
                               "spec": {"image": "library/nginx:1.25", "command": ["nginx"],
                                        "args": ["-g", "daemon off;"],
                                        "env": [{"name": "MODE", "value": "prod"},
                                                {"name": "DB_PASSWORD", "secretRef": {"name": "db", "key": "password"}}],
                                        "resources": {"cpu": "500m", "memory": "256Mi"},
                                        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                                        "nodeSelector": {"zone": "a"},
                                        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                                         "effect": "NoSchedule"}],
                                        "restartPolicy": "Always",
                                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80},
                                                           "periodSeconds": 5},
                                        "terminationGracePeriodSeconds": 30}},
                  "strategy": {"maxSurge": "25%", "maxUnavailable": 0},
                  "revisionHistoryLimit": 5},
         "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2,
                    "currentRevision": "5d8f", "updateRevision": "5d8f",
                    "conditions": [{"type": "Available", "status": "False"}]}}
        """)

    static let replica = kindJSON(
        """
        {"metadata": {"name": "web-5d8f-abcde", "project": "team-a", "labels": {"app": "web"}},
         "spec": {"image": "library/nginx@\(digest)", "nodeName": "worker-1",
                  "network": {"ip": "10.244.3.7", "mac": "02:6b:00:00:00:07"},
                  "readinessProbe": {"tcpSocket": {"port": 80}},
                  "tolerations": [{"operator": "Exists"}]},
         "status": {"phase": "Running", "ready": true, "restartCount": 0, "startedAt": "2025-01-01T00:00:00Z"}}
        """)

    static let instance = kindJSON(
        """
        {"metadata": {"name": "db-vm", "project": "team-a"},
         "spec": {"image": "ubuntu:24.04", "vcpus": 2, "memory": "4Gi", "diskSize": "20Gi",
                  "ports": [{"containerPort": 5432}], "userData": "#cloud-config\\n"},
         "status": {"phase": "Booting", "accel": "kvm",
                    "steps": [{"name": "fetch-image", "state": "done"}, {"name": "qemu", "state": "running"}]}}
        """)

    static let service = kindJSON(
        """
        {"metadata": {"name": "web", "project": "team-a"},
         "spec": {"selector": {"app": "web"},
                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "admin", "port": 9090, "protocol": "HTTP"}],
                  "clusterIP": "10.96.0.10"},
         "status": {"endpoints": [{"ip": "10.244.3.7", "port": 8080, "replica": "web-5d8f-abcde",
                                   "node": "worker-1", "ready": true}],
                    "generation": 4}}
        """)

    static let secret = kindJSON(
        """
        {"metadata": {"name": "db", "project": "team-a"},
         "spec": {"type": "opaque", "data": {"password": "aHVudGVyMg==", "tls.crt": "", "user_name": "YWRtaW4="}}}
        """)

    static let event = kindJSON(
        """
        {"metadata": {"name": "web-5d8f-abcde.17a8f2c3", "project": "team-a"},
         "spec": {"regarding": {"kind": "Replica", "name": "web-5d8f-abcde", "project": "team-a", "uid": "u-1"},
                  "reason": "FailedScheduling", "message": "0/3 nodes are available", "type": "Warning",
                  "source": "scheduler", "count": 2, "firstTime": "2025-01-01T00:00:00Z",
                  "lastTime": "2025-01-01T00:01:00Z"}}
        """)

    static let all: [(Kind, JSONValue)] = [
        (.node, node), (.project, project), (.image, image), (.workload, workload), (.replica, replica),
        (.instance, instance), (.service, service), (.secret, secret), (.event, event),
    ]
}
