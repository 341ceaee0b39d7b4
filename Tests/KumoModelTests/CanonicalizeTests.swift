import Testing

@testable import KumoModel

/// The canonicalization pipeline and metadata rules, common to every kind.
@Suite struct CanonicalizeTests {
    @Test(arguments: KindSamples.all.map(\.0))
    func everySampleCanonicalizesToAFixedPoint(kind: Kind) throws {
        let sample = KindSamples.all.first { $0.0 == kind }!.1
        let canonical = try expectCanonical(kind, sample)
        #expect(canonical["metadata"]?["name"] == sample["metadata"]?["name"])
    }

    @Test func addsApiVersionKindAndEmptySpec() throws {
        let out = try expectCanonical(.project, kindJSON(#"{"metadata": {"name": "p"}}"#))
        #expect(
            out == kindJSON(#"{"apiVersion": "kumo/v1", "kind": "Project", "metadata": {"name": "p"}, "spec": {}}"#))
        let nullSpec = try Kind.project.canonicalize(kindJSON(#"{"metadata": {"name": "p"}, "spec": null}"#))
        #expect(nullSpec == out)
    }

    @Test func dropsNullsAndEmptyMetadataMaps() throws {
        let out = try Kind.project.canonicalize(
            kindJSON(
                #"{"metadata": {"name": "p", "labels": {}, "annotations": {}, "uid": null},"#
                    + #" "spec": {"description": null, "quota": null}, "status": null}"#))
        #expect(
            out == kindJSON(#"{"apiVersion": "kumo/v1", "kind": "Project", "metadata": {"name": "p"}, "spec": {}}"#))
    }

    @Test func keepsServerMetadataAndStatus() throws {
        let input = KindSamples.project.settingField("metadata.uid", "7f0c").settingField(
            "metadata.resourceVersion", "42"
        )
        .settingField("metadata.createdAt", "2025-01-01T00:00:00Z")
        .settingField(["metadata", "managedFields", "spec.quota"], to: "admin")
        .settingField(["metadata", "annotations", "kumo.dev/note"], to: "hello")
        let out = try expectCanonical(.project, input)
        #expect(out["metadata"] == input["metadata"])
    }

    @Test func canonicalizesQuantities() throws {
        let input = KindSamples.workload.settingField("spec.template.spec.resources.cpu", 0.5)
            .settingField("spec.template.spec.resources.memory", 1_073_741_824)
        let out = try expectCanonical(.workload, input)
        #expect(out.value(atPath: "spec.template.spec.resources.cpu") == "500m")
        #expect(out.value(atPath: "spec.template.spec.resources.memory") == "1Gi")
        #expect(out.value(atPath: "spec.strategy.maxSurge") == "25%")
        #expect(out.value(atPath: "spec.strategy.maxUnavailable") == 0)
        let node = try expectCanonical(.node, KindSamples.node)
        #expect(node.value(atPath: "status.capacity.cpu") == "4")
        #expect(node.value(atPath: "status.allocatable.cpu") == "3500m")
    }

    @Test func requiresAnObject() {
        for bad: JSONValue in [[], "Node", 1, nil] {
            let error = canonicalError(.node, bad)
            #expect(error?.code == .invalid)
            #expect(error?.message.contains("expected a JSON object") == true)
        }
    }

    @Test func wrongKindOrApiVersion() {
        expectInvalid(
            .node, KindSamples.node.settingField("kind", "Project"), field: "kind", message: "must be \"Node\"")
        expectInvalid(.node, KindSamples.node.settingField("kind", 3), field: "kind")
        expectInvalid(.node, KindSamples.node.settingField("apiVersion", "v1"), field: "apiVersion", message: "kumo/v1")
        expectInvalid(.workload, KindSamples.replica, field: "spec.replicas", message: "spec.replicas: required")
    }

    @Test func missingOrMistypedMetadata() {
        expectInvalid(
            .node, KindSamples.node.settingField("metadata", nil), field: "metadata", message: "metadata: required")
        expectInvalid(
            .node, KindSamples.node.settingField("metadata.name", nil), field: "metadata.name", message: "required")
        expectInvalid(
            .node, KindSamples.node.settingField("metadata.name", 5), field: "metadata.name", message: "expected string"
        )
        expectInvalid(
            .node, KindSamples.node.settingField("metadata", "worker"), field: "metadata", message: "expected object")
        expectInvalid(
            .node, KindSamples.node.settingField(["metadata", "labels", "zone"], to: 1), field: "metadata.labels.zone",
            message: "expected string, got number")
    }

    @Test func namesPerKind() {
        expectInvalid(.node, KindSamples.node.settingField("metadata.name", "Worker_1"), field: "metadata.name")
        expectInvalid(.workload, KindSamples.workload.settingField("metadata.name", "web.v2"), field: "metadata.name")
        expectInvalid(
            .workload, KindSamples.workload.settingField("metadata.name", .string(String(repeating: "w", count: 64))),
            field: "metadata.name", message: "63 characters")
        // Images may use repository names; Events DNS subdomains.
        #expect(canonicalError(.image, KindSamples.image.settingField("metadata.name", "team/web.frontend")) == nil)
        expectInvalid(.image, KindSamples.image.settingField("metadata.name", "Library/Nginx"), field: "metadata.name")
        expectInvalid(.image, KindSamples.image.settingField("metadata.name", "nginx:1.25"), field: "metadata.name")
        #expect(canonicalError(.event, KindSamples.event.settingField("metadata.name", "a.b.c")) == nil)
        expectInvalid(.event, KindSamples.event.settingField("metadata.name", "a/b"), field: "metadata.name")
        expectInvalid(.project, KindSamples.project.settingField("metadata.name", "team/a"), field: "metadata.name")
    }

    @Test func projectField() {
        expectInvalid(
            .workload, KindSamples.workload.settingField("metadata.project", "Team A"), field: "metadata.project")
        expectInvalid(
            .node, KindSamples.node.settingField("metadata.project", "team-a"), field: "metadata.project",
            message: "cluster-scoped")
        #expect(canonicalError(.workload, KindSamples.workload.settingField("metadata.project", nil)) == nil)
    }

    @Test func labelsAndAnnotations() throws {
        expectInvalid(
            .node, KindSamples.node.settingField(["metadata", "labels", "bad key"], to: "x"),
            field: "metadata.labels.bad key",
            message: "invalid key")
        expectInvalid(
            .node, KindSamples.node.settingField(["metadata", "labels", "zone"], to: "not ok"),
            field: "metadata.labels.zone",
            message: "invalid value")
        expectInvalid(
            .node, KindSamples.node.settingField(["metadata", "labels", "Kumo.dev/x"], to: "y"),
            field: "metadata.labels.Kumo.dev/x")
        expectInvalid(
            .node, KindSamples.node.settingField(["metadata", "annotations", "-x"], to: "anything at all"),
            field: "metadata.annotations.-x")
        #expect(
            canonicalError(
                .node, KindSamples.node.settingField(["metadata", "annotations", "kumo.dev/x"], to: "any text ✓"))
                == nil)
        let big = String(repeating: "x", count: 200 * 1024)
        let twoBig = KindSamples.node.settingField(["metadata", "annotations", "a"], to: .string(big))
            .settingField(["metadata", "annotations", "b"], to: .string(big))
        expectInvalid(.node, twoBig, field: "metadata.annotations", message: "exceeds")
    }

    @Test func reportsUnknownFields() {
        expectInvalid(.workload, KindSamples.workload.settingField("spec.replica", 3), field: "spec.replica")
        let error = canonicalError(.workload, KindSamples.workload.settingField("spec.replica", 3))
        #expect(error?.message == #"unknown field "spec.replica""#)
        expectInvalid(.node, KindSamples.node.settingField("extra", true), field: "extra")
        expectInvalid(.node, KindSamples.node.settingField("metadata.generation", 1), field: "metadata.generation")
        expectInvalid(
            .workload, KindSamples.workload.settingField("spec.template.spec.ports.0.hostPort", 8080),
            field: "spec.template.spec.ports[0].hostPort")
        expectInvalid(
            .workload, KindSamples.workload.settingField("spec.template.spec.resources.gpu", 1),
            field: "spec.template.spec.resources.gpu")
        expectInvalid(.node, KindSamples.node.settingField("status.overlay.vni", 1), field: "status.overlay.vni")
        expectInvalid(.project, KindSamples.project.settingField("status.phase", "Active"), field: "status.phase")
        expectInvalid(.project, KindSamples.project.settingField("spec.owner", [:]), field: "spec.owner")
        // Null values are not unknown fields (merge patches use null to delete).
        #expect(canonicalError(.node, KindSamples.node.settingField("spec.color", nil as JSONValue?)) == nil)
        #expect(canonicalError(.node, KindSamples.node.settingField("spec.color", JSONValue.null)) == nil)
        // Several are listed together; the first names the field.
        let two = canonicalError(.node, KindSamples.node.settingField("spec.b", 1).settingField("spec.a", 1))
        #expect(two?.field == "spec.a")
        #expect(two?.message == #"unknown fields "spec.a", "spec.b""#)
    }

    @Test func unknownFieldsComeBeforeTheValidationErrorsTheyCause() {
        // A misspelt probe handler leaves the probe without one.
        let input = KindSamples.replica.settingField("spec.readinessProbe", kindJSON(#"{"tcpsocket": {"port": 80}}"#))
        expectInvalid(.replica, input, field: "spec.readinessProbe.tcpsocket", message: "unknown field")
    }

    @Test func allFindingsAreListedAndTheFirstNamesTheField() {
        let input = KindSamples.service.settingField("metadata.name", "Web").settingField("spec.clusterIP", "1.2.3")
        let error = canonicalError(.service, input)
        #expect(error?.field == "metadata.name")
        #expect(error?.message.hasPrefix("invalid Service: metadata.name: ") == true)
        #expect(error?.message.contains("spec.clusterIP: must be an IPv4 address") == true)
    }

    @Test func decodeAndEncodeHelpers() throws {
        let workload = try decode(KindSamples.workload, as: Workload.self)
        #expect(workload.spec.replicas == 3)
        #expect(workload.spec.template.spec.resources?.cpu == .millicores(500))
        #expect(workload.spec.strategy?.maxSurge == .percent(25))
        #expect(workload.status?.conditions?.first?.status == .false)
        #expect(encode(workload) == (try Kind.workload.canonicalize(KindSamples.workload)))

        let replica = Replica(
            metadata: ObjectMeta(name: "r", project: "p"),
            spec: ReplicaSpec(image: "nginx", resources: Resources(cpu: .millicores(250))))
        #expect(
            encode(replica)
                == kindJSON(
                    #"{"apiVersion": "kumo/v1", "kind": "Replica", "metadata": {"name": "r", "project": "p"},"#
                        + #" "spec": {"image": "nginx", "resources": {"cpu": "250m"}}}"#))
        #expect(try decode(encode(replica), as: Replica.self) == replica)

        do {
            let service = KindSamples.service.settingField("apiVersion", "kumo/v1").settingField("kind", "Service")
            _ = try decode(service.settingField("spec.ports.1.port", "53"), as: Service.self)
            Issue.record("expected a type error")
        } catch {
            #expect(error.field == "spec.ports[1].port")
            #expect(error.message == "invalid Service: spec.ports[1].port: expected integer, got string")
        }
    }
}
