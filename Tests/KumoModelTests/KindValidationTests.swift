import Testing

@testable import KumoModel

/// Per-kind spec rules: each invalid input names the offending field.
@Suite struct KindValidationTests {
    // MARK: Node

    @Test func nodeSpec() throws {
        let node = try decode(try Kind.node.canonicalize(KindSamples.node), as: Node.self)
        #expect(node.spec.taints == [Taint(key: "dedicated", value: "gpu", effect: .noSchedule)])
        #expect(node.status?.overlay == NodeOverlay(publicIP: "192.0.2.11", vtepMAC: "02:aa:bb:cc:dd:ee"))
        #expect(node.status?.capacity?.memory == .gibibytes(8))
        #expect(node.status?.conditions?.first?.status == .true)

        expectInvalid(.node, KindSamples.node.settingField("spec.podCIDR", "10.244.3.1/24"), field: "spec.podCIDR")
        expectInvalid(.node, KindSamples.node.settingField("spec.podCIDR", "10.244.3.0"), field: "spec.podCIDR")
        expectInvalid(
            .node, KindSamples.node.settingField("spec.unschedulable", "yes"), field: "spec.unschedulable",
            message: "expected boolean, got string")
        expectInvalid(
            .node, KindSamples.node.settingField("spec.taints.0.effect", "Sometimes"), field: "spec.taints[0].effect",
            message: #"invalid value "Sometimes": must be one of NoSchedule, PreferNoSchedule, NoExecute"#)
        expectInvalid(
            .node, KindSamples.node.settingField("spec.taints.0.key", nil), field: "spec.taints[0].key",
            message: "spec.taints[0].key: required")
        expectInvalid(.node, KindSamples.node.settingField("spec.taints.0.effect", nil), field: "spec.taints[0].effect")
        expectInvalid(.node, KindSamples.node.settingField("spec.taints.0.key", "bad key"), field: "spec.taints[0].key")
        expectInvalid(
            .node,
            KindSamples.node.settingField(
                "spec.taints",
                [
                    kindJSON(#"{"key": "a", "effect": "NoExecute"}"#),
                    kindJSON(#"{"key": "a", "effect": "NoExecute"}"#),
                ]), field: "spec.taints[1]", message: "duplicate")
        expectInvalid(
            .node, KindSamples.node.settingField("spec.taints", "dedicated"), field: "spec.taints",
            message: "expected array, got string")
        expectInvalid(
            .node, KindSamples.node.settingField("status.conditions.0.status", "Yes"),
            field: "status.conditions[0].status",
            message: "True, False, Unknown")
        expectInvalid(
            .node, KindSamples.node.settingField("status.overlay.vtepMAC", nil), field: "status.overlay.vtepMAC")
        expectInvalid(
            .node, KindSamples.node.settingField("status.capacity.cpu", "lots"), field: "status.capacity.cpu",
            message: #"invalid cpu quantity "lots""#)
    }

    @Test func tolerationsMatchTaints() {
        let gpu = Taint(key: "dedicated", value: "gpu", effect: .noSchedule)
        #expect(Toleration(key: "dedicated", value: "gpu").tolerates(gpu))
        #expect(Toleration(key: "dedicated", value: "gpu", effect: .noSchedule).tolerates(gpu))
        #expect(!Toleration(key: "dedicated", value: "gpu", effect: .noExecute).tolerates(gpu))
        #expect(!Toleration(key: "dedicated", value: "cpu").tolerates(gpu))
        #expect(Toleration(key: "dedicated", operator: .exists).tolerates(gpu))
        #expect(Toleration(operator: .exists).tolerates(gpu))
        #expect(!Toleration(key: "other", operator: .exists).tolerates(gpu))
    }

    // MARK: Project, Image

    @Test func projectSpec() {
        expectInvalid(.project, KindSamples.project.settingField("spec.quota.cpu", "abc"), field: "spec.quota.cpu")
        expectInvalid(
            .project, KindSamples.project.settingField("spec.quota.memory", -1), field: "spec.quota.memory",
            message: "must not be negative")
        expectInvalid(.project, KindSamples.project.settingField("spec.quota.pods", -1), field: "spec.quota.pods")
        expectInvalid(
            .project,
            KindSamples.project.settingField("spec.description", .string(String(repeating: "x", count: 1025))),
            field: "spec.description")
    }

    @Test func imageSpec() {
        expectInvalid(
            .image, KindSamples.image.settingField(["spec", "tags", "1.25"], to: "sha256:abc"), field: "spec.tags.1.25",
            message: "invalid digest")
        expectInvalid(
            .image, KindSamples.image.settingField(["spec", "tags", "-rc"], to: .string(KindSamples.digest)),
            field: "spec.tags.-rc",
            message: "invalid tag")
        expectInvalid(.image, KindSamples.image.settingField("status.sizeBytes", "big"), field: "status.sizeBytes")
    }

    // MARK: Workload

    @Test func workloadSpec() throws {
        let w = KindSamples.workload
        expectInvalid(
            .workload, w.settingField("spec.template.spec.resources.cpu", "5x"),
            field: "spec.template.spec.resources.cpu",
            message: #"invalid cpu quantity "5x": expected millicores like 500m or cores like 2"#)
        expectInvalid(
            .workload, w.settingField("spec.template.spec.resources.memory", "1Zi"),
            field: "spec.template.spec.resources.memory")
        expectInvalid(
            .workload, w.settingField("spec.replicas", "3"), field: "spec.replicas",
            message: "spec.replicas: expected integer, got string")
        expectInvalid(
            .workload, w.settingField("spec.replicas", 2.5), field: "spec.replicas", message: "expected integer")
        expectInvalid(.workload, w.settingField("spec.replicas", nil), field: "spec.replicas", message: "required")
        expectInvalid(
            .workload, w.settingField("spec.replicas", JSONValue.null), field: "spec.replicas",
            message: "required")
        expectInvalid(.workload, w.settingField("spec.replicas", 10_001), field: "spec.replicas")
        expectInvalid(.workload, w.settingField("spec.replicas", -1), field: "spec.replicas")
        #expect(canonicalError(.workload, w.settingField("spec.replicas", 0)) == nil)
        expectInvalid(.workload, w.settingField("spec.template", nil), field: "spec.template", message: "required")
        expectInvalid(.workload, w.settingField("spec.template.spec", nil), field: "spec.template.spec")
        expectInvalid(.workload, w.settingField("spec.template.spec.image", nil), field: "spec.template.spec.image")
        expectInvalid(.workload, w.settingField("spec.template.spec.image", "Nginx"), field: "spec.template.spec.image")
        expectInvalid(
            .workload, w.settingField("spec.selector.app", "api"), field: "spec.selector",
            message: "does not match template labels")
        expectInvalid(.workload, w.settingField("spec.selector", [:]), field: "spec.selector")
        #expect(canonicalError(.workload, w.settingField("spec.selector", nil)) == nil)
        expectInvalid(
            .workload, w.settingField(["spec", "template", "labels", "a b"], to: "x"),
            field: "spec.template.labels.a b")
        expectInvalid(
            .workload, w.settingField("spec.strategy", kindJSON(#"{"maxSurge": 0, "maxUnavailable": "0%"}"#)),
            field: "spec.strategy.maxUnavailable", message: "may not be 0 when maxSurge is 0")
        // Resolved against replicas: 25% of 3 rounds down to 0, of 4 to 1.
        expectInvalid(
            .workload, w.settingField("spec.strategy", kindJSON(#"{"maxSurge": 0}"#)),
            field: "spec.strategy.maxUnavailable")
        #expect(
            canonicalError(
                .workload,
                w.settingField("spec.strategy", kindJSON(#"{"maxSurge": 0}"#)).settingField("spec.replicas", 4)) == nil)
        #expect(canonicalError(.workload, w.settingField("spec.strategy", kindJSON(#"{"maxUnavailable": 0}"#))) == nil)
        expectInvalid(
            .workload, w.settingField("spec.strategy.maxUnavailable", "150%"),
            field: "spec.strategy.maxUnavailable")
        expectInvalid(
            .workload, w.settingField("spec.strategy.maxSurge", "25"), field: "spec.strategy.maxSurge",
            message: "percentage")
        expectInvalid(.workload, w.settingField("spec.revisionHistoryLimit", -1), field: "spec.revisionHistoryLimit")
        expectInvalid(
            .workload,
            w.settingField("spec.template.spec.network", kindJSON(#"{"ip": "10.0.0.1", "mac": "02:00:00:00:00:01"}"#)),
            field: "spec.template.spec.network")
        expectInvalid(
            .workload, w.settingField("status.revisions", [kindJSON(#"{"hash": "abc"}"#)]),
            field: "status.revisions[0].template", message: "required")
    }

    // MARK: Replica

    @Test func replicaSpec() throws {
        let r = KindSamples.replica
        let replica = try decode(try Kind.replica.canonicalize(r), as: Replica.self)
        #expect(replica.spec.network == NetworkAttachment(ip: "10.244.3.7", mac: "02:6b:00:00:00:07"))
        #expect(replica.status?.phase == .running)

        expectInvalid(.replica, r.settingField("spec.image", nil), field: "spec.image", message: "spec.image: required")
        expectInvalid(
            .replica, r.settingField("spec.image", "nginx@sha256:abc"), field: "spec.image", message: "digest")
        expectInvalid(.replica, r.settingField("spec.image", 3), field: "spec.image", message: "expected string")
        expectInvalid(
            .replica, r.settingField("spec.readinessProbe.exec", ["true"]), field: "spec.readinessProbe",
            message: "exactly one of exec, httpGet, tcpSocket")
        expectInvalid(.replica, r.settingField("spec.readinessProbe", [:]), field: "spec.readinessProbe")
        expectInvalid(
            .replica, r.settingField("spec.readinessProbe.tcpSocket.port", 0),
            field: "spec.readinessProbe.tcpSocket.port")
        expectInvalid(
            .replica, r.settingField("spec.readinessProbe", kindJSON(#"{"httpGet": {"path": "healthz", "port": 80}}"#)),
            field: "spec.readinessProbe.httpGet.path")
        expectInvalid(
            .replica, r.settingField("spec.readinessProbe.periodSeconds", 0),
            field: "spec.readinessProbe.periodSeconds")
        let both = kindJSON(#"[{"name": "A", "value": "1", "secretRef": {"name": "db", "key": "password"}}]"#)
        expectInvalid(.replica, r.settingField("spec.env", both), field: "spec.env[0].secretRef", message: "value")
        expectInvalid(.replica, r.settingField("spec.env", kindJSON(#"[{"name": "1X"}]"#)), field: "spec.env[0].name")
        expectInvalid(
            .replica, r.settingField("spec.env", kindJSON(#"[{"name": "A"}, {"name": "A"}]"#)),
            field: "spec.env[1].name", message: "duplicate")
        expectInvalid(
            .replica, r.settingField("spec.env", kindJSON(#"[{"value": "x"}]"#)), field: "spec.env[0].name",
            message: "required")
        expectInvalid(
            .replica,
            r.settingField("spec.env", kindJSON(#"[{"name": "A", "secretRef": {"name": "db", "key": "a b"}}]"#)),
            field: "spec.env[0].secretRef.key")
        expectInvalid(
            .replica, r.settingField("spec.env", kindJSON(#"[{"name": "A", "secretRef": {"name": "db"}}]"#)),
            field: "spec.env[0].secretRef.key", message: "required")
        expectInvalid(
            .replica, r.settingField("spec.restartPolicy", "Sometimes"), field: "spec.restartPolicy",
            message: "Always, OnFailure, Never")
        expectInvalid(
            .replica, r.settingField("spec.tolerations.0.value", "x"), field: "spec.tolerations[0].value",
            message: "Exists")
        expectInvalid(
            .replica, r.settingField("spec.tolerations.0.operator", "Equal"), field: "spec.tolerations[0].operator")
        expectInvalid(
            .replica, r.settingField("spec.tolerations.0.operator", "In"), field: "spec.tolerations[0].operator",
            message: "Equal, Exists")
        expectInvalid(
            .replica, r.settingField("spec.ports", kindJSON(#"[{"containerPort": 70000}]"#)),
            field: "spec.ports[0].containerPort")
        expectInvalid(
            .replica, r.settingField("spec.ports", kindJSON(#"[{"containerPort": 80}, {"containerPort": 80}]"#)),
            field: "spec.ports[1].containerPort", message: "duplicate")
        #expect(
            canonicalError(
                .replica,
                r.settingField(
                    "spec.ports",
                    kindJSON(#"[{"containerPort": 53}, {"containerPort": 53, "protocol": "UDP"}]"#))) == nil)
        expectInvalid(
            .replica, r.settingField("spec.ports", kindJSON(#"[{"containerPort": 80, "protocol": "SCTP"}]"#)),
            field: "spec.ports[0].protocol", message: "TCP, UDP")
        expectInvalid(.replica, r.settingField("spec.nodeName", "Worker 1"), field: "spec.nodeName")
        expectInvalid(.replica, r.settingField("spec.network.ip", "10.244.3.999"), field: "spec.network.ip")
        expectInvalid(.replica, r.settingField("spec.network.mac", "02:6b"), field: "spec.network.mac")
        expectInvalid(
            .replica, r.settingField(["spec", "nodeSelector", "zone"], to: "a b"), field: "spec.nodeSelector.zone")
        expectInvalid(.replica, r.settingField("spec.resources.pods", 1), field: "spec.resources.pods")
        expectInvalid(
            .replica, r.settingField("spec.terminationGracePeriodSeconds", -1),
            field: "spec.terminationGracePeriodSeconds")
        expectInvalid(
            .replica, r.settingField("spec.command", ["a", 1]), field: "spec.command[1]",
            message: "expected string, got number")
        expectInvalid(.replica, r.settingField("status.phase", "Sleeping"), field: "status.phase", message: "Pending")
    }

    // MARK: Instance

    @Test func instanceSpec() throws {
        let i = KindSamples.instance
        let instance = try decode(try Kind.instance.canonicalize(i), as: Instance.self)
        #expect(instance.spec.memory == .gibibytes(4))
        #expect(instance.status?.steps?.count == 2)

        expectInvalid(.instance, i.settingField("spec.vcpus", 65), field: "spec.vcpus")
        expectInvalid(.instance, i.settingField("spec.vcpus", 0), field: "spec.vcpus")
        expectInvalid(
            .instance, i.settingField("spec.memory", "lots"), field: "spec.memory",
            message: #"invalid memory quantity "lots""#)
        expectInvalid(.instance, i.settingField("spec.memory", 0), field: "spec.memory")
        expectInvalid(.instance, i.settingField("spec.diskSize", "1.5"), field: "spec.diskSize")
        expectInvalid(.instance, i.settingField("spec.image", nil), field: "spec.image")
        expectInvalid(
            .instance, i.settingField("spec.network", kindJSON(#"{"ip": "10.244.3.8", "mac": "zz"}"#)),
            field: "spec.network.mac")
        expectInvalid(
            .instance, i.settingField("spec.network", kindJSON(#"{"ip": "10.244.3.8"}"#)), field: "spec.network.mac",
            message: "required")
        expectInvalid(
            .instance, i.settingField("spec.userData", .string(String(repeating: "x", count: 256 * 1024 + 1))),
            field: "spec.userData")
        expectInvalid(.instance, i.settingField("status.phase", "Paused"), field: "status.phase")
        expectInvalid(.instance, i.settingField("status.steps.0.state", nil), field: "status.steps[0].state")
    }

    // MARK: Service

    @Test func serviceSpec() {
        let s = KindSamples.service
        expectInvalid(
            .service, s.settingField("spec.selector", [:]), field: "spec.selector", message: "must not be empty")
        expectInvalid(.service, s.settingField("spec.selector", nil), field: "spec.selector", message: "required")
        expectInvalid(.service, s.settingField("spec.ports", nil), field: "spec.ports", message: "required")
        expectInvalid(.service, s.settingField("spec.ports", []), field: "spec.ports", message: "at least one")
        expectInvalid(
            .service, s.settingField("spec.ports.1.port", 80).settingField("spec.ports.1.protocol", nil),
            field: "spec.ports[1].port", message: "duplicate")
        expectInvalid(.service, s.settingField("spec.ports.1.name", "http"), field: "spec.ports[1].name")
        expectInvalid(.service, s.settingField("spec.ports.0.port", 0), field: "spec.ports[0].port")
        expectInvalid(.service, s.settingField("spec.ports.0.targetPort", 65536), field: "spec.ports[0].targetPort")
        expectInvalid(.service, s.settingField("spec.ports.0.protocol", "SCTP"), field: "spec.ports[0].protocol")
        expectInvalid(.service, s.settingField("spec.clusterIP", "10.96.0.300"), field: "spec.clusterIP")
        expectInvalid(.service, s.settingField("status.endpoints.0.ip", nil), field: "status.endpoints[0].ip")
        expectInvalid(.service, s.settingField("spec.selector", ["app": "web/x"]), field: "spec.selector.app")
        expectInvalid(.service, s.settingField("spec.ports.0.protocol", "UDP"), field: "spec.ports[0].protocol")
        expectInvalid(.service, s.settingField("spec.external", ["port": 0]), field: "spec.external.port")
        expectInvalid(
            .service, s.settingField("spec.external", ["port": 7481]), field: "spec.external.port", message: "node port range")
        expectInvalid(
            .service, s.settingField("spec.external", ["port": 30080, "servicePort": 81]),
            field: "spec.external.servicePort", message: "not one of spec.ports")
        expectInvalid(.service, s.settingField("spec.balance", "fastest"), field: "spec.balance")
        expectInvalid(.service, s.settingField("spec.healthCheck", ["intervalSeconds": 0]), field: "spec.healthCheck.intervalSeconds")
        expectInvalid(.service, s.settingField("spec.healthCheck", ["path": "no-slash"]), field: "spec.healthCheck.path")
        let full = s.settingField("spec.external", ["port": 30080, "servicePort": 9090])
            .settingField("spec.balance", "leastconn")
            .settingField("spec.healthCheck", ["path": "/healthz", "intervalSeconds": 1, "rise": 1, "fall": 2])
        #expect(throws: Never.self) { try Kind.service.canonicalize(full) }
    }

    // MARK: Secret

    @Test func secretSpec() {
        let s = KindSamples.secret
        expectInvalid(
            .secret, s.settingField("spec.data.password", "hunter2"), field: "spec.data.password",
            message: "base64")
        expectInvalid(
            .secret, s.settingField(["spec", "data", "a b"], to: "YQ=="), field: "spec.data.a b",
            message: "invalid key")
        expectInvalid(.secret, s.settingField("spec.data.password", 1), field: "spec.data.password")
        expectInvalid(.secret, s.settingField("spec.type", 1), field: "spec.type")
        expectInvalid(.secret, s.settingField("spec.type", "weird"), field: "spec.type", message: "opaque, tls")
        expectInvalid(.secret, s.settingField("spec.type", "tls"), field: "spec.data", message: "tls.key")
        expectInvalid(
            .secret, s.settingField(["spec", "data", "..data"], to: "YQ=="), field: "spec.data...data", message: "'..'")
        // the limit counts decoded bytes: 1 MiB of data is ~1.33 MiB of base64
        let limit = SecretSpec.maxDataBytes
        let fits = String(repeating: "A", count: (limit - 4) / 3 * 4)
        #expect((try? Kind.secret.canonicalize(s.settingField("spec.data", ["blob": .string(fits)]))) != nil)
        let over = String(repeating: "A", count: (limit / 3 + 1) * 4)
        expectInvalid(.secret, s.settingField("spec.data", ["blob": .string(over)]), field: "spec.data", message: "1 MiB")
        #expect(SecretSpec.decodedSize(ofBase64: "YQ==") == 1 && SecretSpec.decodedSize(ofBase64: "YWI=") == 2)
        #expect(SecretSpec.decodedSize(ofBase64: "YWJj") == 3 && SecretSpec.decodedSize(ofBase64: "") == 0)
    }

    // MARK: Event

    @Test func eventSpec() throws {
        let e = KindSamples.event
        let event = try decode(try Kind.event.canonicalize(e), as: Event.self)
        #expect(
            event.spec.regarding
                == ObjectReference(kind: .replica, name: "web-5d8f-abcde", project: "team-a", uid: "u-1"))
        #expect(event.spec.type == .warning)

        expectInvalid(
            .event, e.settingField("spec.regarding.kind", "Pod"), field: "spec.regarding.kind",
            message: #"unknown kind "Pod": must be one of Node, Project, Image, Workload"#)
        expectInvalid(.event, e.settingField("spec.regarding", nil), field: "spec.regarding", message: "required")
        expectInvalid(.event, e.settingField("spec.regarding.name", nil), field: "spec.regarding.name")
        expectInvalid(.event, e.settingField("spec.regarding.name", "Web"), field: "spec.regarding.name")
        expectInvalid(.event, e.settingField("spec.regarding.project", "other"), field: "spec.regarding.project")
        // a component (the doctor's cluster-wide findings): cluster-wide, named as kumo explain names it
        let component = e.settingField("metadata.project", nil)
        #expect(canonicalError(.event, component.settingField("spec.regarding", kindJSON(#"{"kind": "Component", "name": "controller/workloads"}"#))) == nil)
        expectInvalid(
            .event, component.settingField("spec.regarding", kindJSON(#"{"kind": "Component", "name": "Store!"}"#)),
            field: "spec.regarding.name", message: "component name")
        expectInvalid(
            .event, component.settingField("spec.regarding", kindJSON(#"{"kind": "Component", "name": "store", "project": "p"}"#)),
            field: "spec.regarding.project")
        #expect(
            canonicalError(
                .event,
                e.settingField(
                    "spec.regarding",
                    kindJSON(#"{"kind": "Node", "name": "worker-1"}"#)
                ).settingField("metadata.project", nil)) == nil)
        #expect(
            canonicalError(
                .event,
                e.settingField(
                    "spec.regarding",
                    kindJSON(#"{"kind": "Image", "name": "library/nginx"}"#)
                ).settingField("metadata.project", nil)) == nil)
        expectInvalid(.event, e.settingField("spec.type", "Info"), field: "spec.type", message: "Normal, Warning")
        expectInvalid(.event, e.settingField("spec.type", nil), field: "spec.type", message: "required")
        expectInvalid(.event, e.settingField("spec.reason", "failed scheduling"), field: "spec.reason")
        expectInvalid(
            .event, e.settingField("spec.reason", .string("A" + String(repeating: "b", count: 128))),
            field: "spec.reason")
        expectInvalid(
            .event, e.settingField("spec.message", .string(String(repeating: "m", count: 4097))),
            field: "spec.message")
        #expect(
            canonicalError(.event, e.settingField("spec.message", .string(String(repeating: "m", count: 4096)))) == nil)
        expectInvalid(.event, e.settingField("spec.source", nil), field: "spec.source", message: "required")
        expectInvalid(.event, e.settingField("spec.source", "the scheduler"), field: "spec.source")
        #expect(canonicalError(.event, e.settingField("spec.source", "node/worker-1")) == nil)
        expectInvalid(.event, e.settingField("spec.count", 0), field: "spec.count")
    }
}
