import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import KumoTestbed

/// `vm`: API create of an instance → its DHCP lease observed in the node's dnsmasq log, on a real agent (QEMU,
/// TCG here), split into guest boot (QEMU started → lease seen: QEMU, firmware/kernel, the guest's DHCP exchange)
/// and orchestration overhead (everything before QEMU starts: API, scheduler + bind, watch to the agent, image
/// cache, DHCP entry + SIGHUP, tap). Times come from the instance's step timeline (one machine's clock).
enum VMBench {
    static func repository() -> String {
        let cwd = FileManager.default.currentDirectoryPath
        if FileManager.default.fileExists(atPath: cwd + "/scripts/build-vm-images.sh") { return cwd }
        // .build/<config>/kumo-bench → the checkout
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    static func run(count: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "vm")
        let images = try VMTestImages.ensure(repository: repository())
        let cloud = LocalCloud(agents: 1)
        return try await tearingDown(cloud) {
            try await cloud.start()
            try cloud.kumo(["image", "push", "tiny:latest", "--kernel", images.kernel, "--initrd", images.initrd, "--cmdline", images.cmdline, "-q"])
            try cloud.apply("apiVersion: kumo/v1\nkind: Project\nmetadata: {name: bench}\n")
            let api = cloud.admin
            let watchdog = Task {
                try await Task.sleep(for: .seconds(Double(count) * 60 + 120))
                FileHandle.standardError.write(Data("vm: timed out\n".utf8))
                cloud.dumpLogs()
                cloud.tearDown()
                exit(2)
            }
            defer { watchdog.cancel() }
            var total = Samples(), boot = Samples(), overhead = Samples(), beforeQEMU = Samples()
            for i in 0...count {
                let name = "v\(i)"
                let body: JSONValue = [
                    "apiVersion": "kumo/v1", "kind": "Instance", "metadata": ["name": .string(name), "project": "bench"],
                    "spec": ["image": "tiny:latest", "vcpus": 1, "memory": "128Mi"],
                ]
                try await api.send(.POST, "/api/v1/projects/bench/instances", body: body.serialized())
                var object: JSONValue = .null
                try await eventually("\(name) leased", timeout: .seconds(120)) {
                    object = try await api.get(.instance, name, project: "bench")
                    if object["status"]?["phase"] == "Failed" {
                        throw KumoError(.internal, "\(name) failed: \(object["status"]?["message"]?.stringValue ?? "?")")
                    }
                    return object["status"]?["steps"]?.arrayValue?.contains { $0["name"] == "lease" && $0["state"] == "done" } == true
                }
                func time(_ step: String, _ field: String) -> Int64? {
                    object["status"]?["steps"]?.arrayValue?.first { $0["name"]?.stringValue == step }?[field]?.stringValue
                        .flatMap(Timestamp.init(rfc3339:))?.millisecondsSinceEpoch
                }
                guard let created = object["metadata"]?["createdAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:))?.millisecondsSinceEpoch,
                    let qemuStart = time("qemu", "startedAt"), let leased = time("lease", "finishedAt")
                else { throw KumoError(.internal, "\(name): timeline incomplete") }
                if i > 0 {  // the first one pulls the image into the node cache
                    total.add(Double(leased - created))
                    boot.add(Double(leased - qemuStart))
                    overhead.add(Double(qemuStart - created))
                    if let image = time("image", "startedAt") { beforeQEMU.add(Double(image - created)) }
                }
                try await api.send(.DELETE, "/api/v1/projects/bench/instances/\(name)")
                try await eventually("\(name) deleted", timeout: .seconds(30)) {
                    (try? await api.get(.instance, name, project: "bench")) == nil
                }
            }
            result.add("vms", Double(count))
            result.add("create_to_lease_p50_ms", total.percentile(50))
            result.add("guest_boot_p50_ms", boot.percentile(50))
            result.add("guest_boot_max_ms", boot.percentile(100))
            result.add("overhead_p50_ms", overhead.percentile(50))
            result.add("overhead_max_ms", overhead.percentile(100))
            result.add("create_to_agent_p50_ms", beforeQEMU.percentile(50))
            result.target("overhead_max_ms", 300, higherIsBetter: false)
            result.notes.append("overhead: instance created (API) → QEMU started: scheduling + bind, watch to the agent, image cache hit, DHCP entry + SIGHUP, tap")
            result.notes.append("guest boot: QEMU started → DHCPACK seen in the dnsmasq log (QEMU, kernel + initramfs under TCG, udhcpc); log polled every 50 ms")
            result.notes.append("create_to_agent: created → the agent began the image step (API + scheduler + watch)")
            result.notes.append("one agent in a network namespace; VMs created one at a time and deleted after their lease; the first (image pull) not counted")
            return result
        }
    }
}
