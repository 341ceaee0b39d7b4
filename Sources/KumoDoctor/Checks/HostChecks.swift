import KumoModel

/// The machines: /dev/kvm, clock skew against the server, free disk under the agent's data directory.
public enum HostChecks: HealthArea {
    public static let name = "host"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "VM_NO_KVM", .info, .host, title: "VMs run under TCG: no usable /dev/kvm",
            runbook: Runbook(
                meaning: "The node has no usable /dev/kvm, so QEMU emulates the CPU (TCG): instances run, ten or more times slower. A standing fact of the machine, not a fault.",
                lookAlikes: ["Slow instances with KVM present: CPU contention on the host."],
                actions: ["Enable virtualisation in the firmware, or run on a machine or VM with nested virtualisation; nothing to do otherwise."])),
        CheckDefinition(
            "CLOCK_SKEW", .warn, .host, title: "a node's clock differs from the server's",
            runbook: Runbook(
                meaning: "The time in the node's health report differs from the server's clock by more than the threshold. Leases, event times and certificate checks assume agreeing clocks.",
                lookAlikes: ["A delayed report (the server busy) looks like skew once; skew persists."],
                actions: ["Run NTP (chrony, systemd-timesyncd) on every node and the server."])),
        CheckDefinition(
            "DISK_LOW", .warn, .host, title: "a node is short of disk",
            runbook: Runbook(
                meaning: "The file system of the agent's data directory (images, bundles, logs) is nearly full (an error below a third of the threshold). Image pulls and container starts fail when it fills.",
                lookAlikes: ["IMAGE_PULL_FAILED with 'No space left on device': this is its cause."],
                actions: ["Remove unused images (the agent's image GC keeps what running replicas use) or grow the disk."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        for (node, _) in s.reports.sorted(by: { $0.key < $1.key }) {
            guard let r = s.freshReport(node) else { continue }
            if let h = r.host, h.kvm == false {
                out.append(
                    finding(
                        "VM_NO_KVM", node: node, object: .node(node), summary: "VMs on \(node) run under TCG: no usable /dev/kvm",
                        evidence: [Evidence("\(node) accelerator probe", h.kvmReason ?? "/dev/kvm not usable")]))
            }
            if let sent = Timestamp(rfc3339: r.time), let got = r.receivedAt.flatMap({ Timestamp(rfc3339: $0) }) {
                let skew = Double(got.millisecondsSinceEpoch - sent.millisecondsSinceEpoch) / 1000
                if abs(skew) > s.options.clockSkewSeconds {
                    out.append(
                        finding(
                            "CLOCK_SKEW", node: node, object: .node(node),
                            summary: "the clock of \(node) is \(fmt(abs(skew))) s \(skew > 0 ? "behind" : "ahead of") the server's",
                            count: whole(abs(skew)), evidence: [Evidence("\(node) health report", "sent at \(r.time), received at \(got.rfc3339)")]))
                }
            }
            if let h = r.host, let free = h.diskFreeBytes, let total = h.diskTotalBytes, total > 0 {
                let fraction = Double(free) / Double(total)
                if fraction < s.options.diskFreeWarnFraction {
                    out.append(
                        finding(
                            "DISK_LOW", severity: fraction < s.options.diskFreeWarnFraction / 3 ? .error : .warn, node: node, object: .node(node),
                            summary: "\(h.diskPath ?? "the data directory") on \(node) has \(fmt(fraction * 100)) % free (\(free / (1 << 20)) MiB)",
                            count: whole((1 - fraction) * 100),
                            evidence: [Evidence("\(node) statfs \(h.diskPath ?? "")", "\(free) of \(total) bytes free")]))
                }
            }
        }
        return out
    }
}
