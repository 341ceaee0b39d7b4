import Testing

@testable import KumoModel

/// Numbers clients send that used to reach arithmetic that traps (a crashed server restarts into the same stored
/// object): each is a 422 naming the field now, and the pure helpers saturate instead of trapping.
@Suite struct NumericBoundsTests {
    @Test func workloadNumbers() {
        let w = KindSamples.workload
        // progressDeadlineSeconds 1e16 overflowed Timestamp + Duration in the workload controller
        expectInvalid(.workload, w.settingField("spec.progressDeadlineSeconds", 10_000_000_000_000_000), field: "spec.progressDeadlineSeconds")
        expectInvalid(.workload, w.settingField("spec.progressDeadlineSeconds", 604_801), field: "spec.progressDeadlineSeconds")
        // an integer maxSurge near Int.max overflowed desired + maxSurge
        expectInvalid(.workload, w.settingField("spec.strategy.maxSurge", 9_223_372_036_854_774_784), field: "spec.strategy.maxSurge")
        expectInvalid(.workload, w.settingField("spec.strategy.maxUnavailable", 10_001), field: "spec.strategy.maxUnavailable")
        expectInvalid(.workload, w.settingField("spec.revisionHistoryLimit", 101), field: "spec.revisionHistoryLimit")
        // huge requests overflowed the scheduler's sums
        expectInvalid(.workload, w.settingField("spec.template.spec.resources.cpu", "9223372036854775807m"), field: "spec.template.spec.resources.cpu")
        expectInvalid(.workload, w.settingField("spec.template.spec.resources.memory", "9223372036854775807"), field: "spec.template.spec.resources.memory")
        // probe timeouts became Durations beyond Int64 milliseconds
        expectInvalid(.workload, w.settingField("spec.template.spec.readinessProbe.timeoutSeconds", 10_000_000_000_000_000), field: "spec.template.spec.readinessProbe.timeoutSeconds")
        expectInvalid(.workload, w.settingField("spec.template.spec.readinessProbe.periodSeconds", 3601), field: "spec.template.spec.readinessProbe.periodSeconds")
        expectInvalid(.workload, w.settingField("spec.template.spec.terminationGracePeriodSeconds", 3601), field: "spec.template.spec.terminationGracePeriodSeconds")
        // a tiny autoscale target made a replica count beyond Int
        let autoscaled = w.settingField("spec.autoscale", kindJSON(#"{"min": 1, "max": 5, "target": 1e-300}"#))
        expectInvalid(.workload, autoscaled, field: "spec.autoscale.target")
        // in range: fine
        #expect((try? Kind.workload.canonicalize(w.settingField("spec.progressDeadlineSeconds", 600))) != nil)
    }

    @Test func nodeAndInstanceNumbers() {
        // a /32 podCIDR made IPAM's address range invalid (a trap at the next bind)
        expectInvalid(.node, KindSamples.node.settingField("spec.podCIDR", "10.244.3.0/32"), field: "spec.podCIDR")
        expectInvalid(.node, KindSamples.node.settingField("spec.podCIDR", "10.244.3.0/31"), field: "spec.podCIDR")
        expectInvalid(.instance, KindSamples.instance.settingField("spec.memory", "9223372036854775807"), field: "spec.memory")
        expectInvalid(.instance, KindSamples.instance.settingField("spec.diskSize", "9223372036854775807"), field: "spec.diskSize")
    }

    @Test func saturatingTime() {
        let t = Timestamp(secondsSinceEpoch: 1_767_225_600)
        #expect((t + .seconds(Int64.max)).millisecondsSinceEpoch == Int64.max)
        #expect((Timestamp(millisecondsSinceEpoch: Int64.min + 10) - .seconds(1000)).millisecondsSinceEpoch == Int64.min)
        #expect((t + .seconds(10)).millisecondsSinceEpoch == t.millisecondsSinceEpoch + 10_000)
        #expect(Duration.seconds(Int64.max).milliseconds == Int64.max)
        #expect(Duration.milliseconds(1500).millisecondsValue == 1500)
        #expect(Duration.seconds(2).secondsValue == 2)
    }

    @Test func exactIntegers() throws {
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.number(2.5).intValue == nil)
        #expect(JSONValue.number(-3).intValue == -3)
        #expect(throws: KumoError.self) { try JSONValue.number(1e300).integer(field: "x", in: 1...10) }
        #expect(try JSONValue.number(7).integer(field: "x", in: 1...10) == 7)
    }
}
