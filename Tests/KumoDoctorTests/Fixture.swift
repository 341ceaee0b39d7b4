import Foundation
import KumoDoctor
import KumoModel
import Testing

/// A recorded cloud for the pure checks: three healthy nodes (leases fresh, agents reporting, every daemon
/// answering, peers reachable), to which a test adds workloads, services and the one fault it is about.
struct Fixture {
    static let now = Timestamp(rfc3339: "2026-12-02T12:00:00.000Z")!
    var s = HealthSnapshot(now: Fixture.now)

    static func ago(_ seconds: Int64) -> String { (now - .seconds(seconds)).rfc3339 }

    init(nodes: Int = 3) {
        for i in 1...nodes { addNode("node-\(i)", index: i) }
        s.server.recentCommits = 100
        s.server.commitP99Ms = 4
        s.server.certificates = [CertificateFact(name: "cluster CA", notAfter: "2036-01-01T00:00:00.000Z")]
    }

    mutating func addNode(_ name: String, index: Int) {
        s.nodes.append(
            Self.object(
                [
                    "metadata": ["name": .string(name), "createdAt": .string(Self.ago(3600))],
                    "spec": ["podCIDR": .string("10.244.\(index).0/24")],
                    "status": [
                        "overlay": ["publicIP": .string("192.0.2.\(index + 10)"), "vtepMAC": .string("02:00:00:00:00:0\(index)")],
                        "allocatable": ["cpu": "4", "memory": "8Gi", "pods": 110],
                        "conditions": [["type": "Ready", "status": "True"]],
                    ],
                ], as: NodeSpec.self))
        s.leases[name] = Self.now - .seconds(1)
        var r = NodeHealthReport(node: name, time: Self.ago(2))
        r.receivedAt = Self.ago(2)
        r.dnsmasq = DaemonHealth(running: true, pid: 100 + index, answering: true)
        r.haproxy = DaemonHealth(running: true, pid: 200 + index, answering: true)
        r.dhcp = DHCPFacts(hosts: 0, leases: 0, refusals: [], windowSeconds: 600)
        r.host = HostFacts(kvm: true)
        s.reports[name] = r
        // every node probes every other one: all answer
        for n in s.nodes.map(\.metadata.name) where n != name {
            s.reports[name]!.peers = (s.reports[name]!.peers ?? []) + [PeerProbe(node: n, address: address(n), reachable: true, fullSizeReachable: true, rttMs: 0.3)]
            s.reports[n]!.peers = (s.reports[n]!.peers ?? []) + [PeerProbe(node: name, address: "192.0.2.\(index + 10)", reachable: true, fullSizeReachable: true, rttMs: 0.3)]
        }
    }

    /// The node's agent went quiet `seconds` ago: no heartbeat, no health report since.
    mutating func silence(_ node: String, seconds: Int64) {
        s.leases[node] = Self.now - .seconds(seconds)
        s.reports[node]!.receivedAt = Self.ago(seconds)
    }

    func address(_ node: String) -> String { s.node(node)?.status?.overlay?.publicIP ?? "?" }

    /// A workload with `replicas` Running and Ready replicas spread over the nodes, labelled app=NAME.
    mutating func workload(_ name: String, replicas n: Int, project: String = "demo", ready: Bool = true, image: String = "web:1") {
        s.workloads.append(
            Self.object(
                [
                    "metadata": ["name": .string(name), "project": .string(project), "createdAt": .string(Self.ago(1800))],
                    "spec": [
                        "replicas": .number(Double(n)), "selector": ["app": .string(name)],
                        "template": ["labels": ["app": .string(name)], "spec": ["image": .string(image)]],
                    ],
                    "status": ["replicas": .number(Double(n)), "readyReplicas": .number(Double(ready ? n : 0))],
                ], as: WorkloadSpec.self))
        if s.images.first(where: { $0.metadata.name == "web" }) == nil {
            s.images.append(
                Self.object(
                    [
                        "metadata": ["name": "web", "createdAt": .string(Self.ago(7200))],
                        "spec": ["tags": ["1": .string("sha256:" + String(repeating: "a", count: 64))]],
                    ], as: ImageSpec.self))
        }
        for i in 0..<n {
            let node = s.nodes[i % s.nodes.count].metadata.name
            let index = i % s.nodes.count + 1
            s.replicas.append(
                Self.object(
                    [
                        "metadata": [
                            "name": .string("\(name)-abc-\(i)"), "project": .string(project), "createdAt": .string(Self.ago(1700)),
                            "labels": ["app": .string(name), "kumo.dev/workload": .string(name)],
                        ],
                        "spec": [
                            "image": .string(image), "nodeName": .string(node),
                            "network": ["ip": .string("10.244.\(index).\(10 + i)"), "mac": .string("02:6b:0a:f4:0\(index):\(10 + i)")],
                        ],
                        "status": [
                            "phase": "Running", "ready": .bool(ready), "restartCount": 0, "startedAt": .string(Self.ago(1600)),
                        ],
                    ], as: ReplicaSpec.self))
        }
    }

    /// A service selecting app=SELECTOR, its endpoints the ready replicas it selects.
    mutating func service(_ name: String, selector: String, project: String = "demo") {
        let eps: [JSONValue] = s.replicas.filter {
            $0.metadata.labels?["app"] == selector && $0.status?.ready == true && $0.metadata.project == project
        }.map { ["ip": .string($0.spec.network!.ip), "replica": .string($0.metadata.name), "node": .string($0.spec.nodeName!), "ready": true] }
        s.services.append(
            Self.object(
                [
                    "metadata": ["name": .string(name), "project": .string(project), "createdAt": .string(Self.ago(1800))],
                    "spec": ["selector": ["app": .string(selector)], "ports": [["port": 80]]],
                    "status": ["endpoints": .array(eps), "generation": 1],
                ], as: ServiceSpec.self))
        for node in s.reports.keys {
            s.reports[node]!.loadBalancer = (s.reports[node]!.loadBalancer ?? []) + [BackendHealth(service: "\(project)/\(name)", serversUp: eps.count, serversTotal: eps.count)]
        }
    }

    mutating func event(_ reason: String, about kind: String, _ name: String, project: String? = nil, secondsAgo: Int64, message: String) {
        var regarding: [String: JSONValue] = ["kind": .string(kind), "name": .string(name)]
        if let project { regarding["project"] = .string(project) }
        s.events.append(
            Self.object(
                [
                    "metadata": ["name": .string("\(name).\(s.events.count)"), "createdAt": .string(Self.ago(secondsAgo))],
                    "spec": [
                        "regarding": .object(regarding), "reason": .string(reason), "message": .string(message), "type": "Warning",
                        "source": "test", "count": 1, "firstTime": .string(Self.ago(secondsAgo)), "lastTime": .string(Self.ago(secondsAgo)),
                    ],
                ], as: EventSpec.self))
    }

    mutating func mutate<S: ResourceSpec>(_ keyPath: WritableKeyPath<HealthSnapshot, [Object<S>]>, _ name: String, _ change: (inout Object<S>) -> Void) {
        let i = s[keyPath: keyPath].firstIndex { $0.metadata.name == name }!
        change(&s[keyPath: keyPath][i])
    }

    static func object<S: ResourceSpec>(_ json: JSONValue, as: S.Type) -> Object<S> {
        var j = json
        j["apiVersion"] = .string(Kind.apiVersion)
        j["kind"] = .string(S.kind.rawValue)
        return try! decode(j, as: Object<S>.self)
    }

    var findings: [Finding] { Doctor.evaluate(s) }

    func report(target: ObjectReference? = nil, project: String? = nil) -> DoctorReport {
        Doctor.report(Doctor.evaluate(s), target: target, project: project, evaluatedAt: Self.now)
    }

    /// Compares the report with `Golden/NAME.json` (`KUMO_UPDATE_GOLDEN=1` rewrites it).
    static func expectGolden(_ report: DoctorReport, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try enc.encode(report), as: UTF8.self) + "\n"
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name).json").path
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_GOLDEN"] == "1" {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let want = try? String(contentsOfFile: path, encoding: .utf8)
        #expect(want == text, "golden \(name).json differs; KUMO_UPDATE_GOLDEN=1 rewrites it after checking the change", sourceLocation: sourceLocation)
    }
}
