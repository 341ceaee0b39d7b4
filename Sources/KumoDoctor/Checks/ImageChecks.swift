import KumoModel

/// Images replicas and instances name: one that Kumo does not have (the spec), one it has that nodes fail to
/// fetch or verify (the image service).
public enum ImageChecks: HealthArea {
    public static let name = "images"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "IMAGE_NOT_FOUND", .error, .spec, title: "a replica or instance names an image Kumo does not have",
            runbook: Runbook(
                meaning: "The image reference names a repository with no Image object, or a tag (or digest) the Image does not have: it was never pushed (`kumo image push`) or was deleted. Its replicas cannot start (ImagePullFailed).",
                lookAlikes: ["IMAGE_PULL_FAILED: the image exists, but fetching or verifying it fails on the node."],
                actions: ["`kumo get images` lists what exists; push the image or fix the reference in the workload."])),
        CheckDefinition(
            "IMAGE_PULL_FAILED", .error, .images, title: "an existing image fails to download or verify on a node",
            runbook: Runbook(
                meaning: "The reference resolves, but the node could not fetch a blob, or a blob's digest did not match (corrupt or replaced content in the blob store).",
                lookAlikes: ["IMAGE_NOT_FOUND: the reference resolves to nothing.", "AGENT_DOWN / NODE_UNREACHABLE: the node cannot reach the server at all."],
                actions: ["The status message names the blob; `kumo image push` the image again; check the server's blob directory and its disk."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var images: [String: Image] = [:]
        for i in s.images { images[i.metadata.name] = i }
        var missing: [String: (why: String, objects: [ObjectReference], nodes: Set<String>)] = [:]
        var failing: [String: (objects: [ObjectReference], nodes: Set<String>, messages: [String])] = [:]
        var resolved: [String: String?] = [:]  // each reference parsed and resolved once
        func consider(_ image: String, _ ref: ObjectReference, node: String?, running: Bool, reason: String?, message: String?) {
            let answer: String?
            if let known = resolved[image] { answer = known } else { answer = unresolved(image, images); resolved[image] = .some(answer) }
            if let why = answer {
                guard !running else { return }
                missing[image, default: (why, [], [])].objects.append(ref)
                if let node { missing[image]!.nodes.insert(node) }
            } else if reason == "ImagePullFailed" {
                failing[image, default: ([], [], [])].objects.append(ref)
                if let node { failing[image]!.nodes.insert(node) }
                if let message { failing[image]!.messages.append(message) }
            }
        }
        for r in s.activeReplicas {
            consider(r.spec.image, r.reference, node: r.spec.nodeName, running: r.status?.phase == .running, reason: r.status?.reason, message: r.status?.message)
        }
        for i in s.instances where i.metadata.deletionTimestamp == nil {
            consider(i.spec.image, i.reference, node: i.spec.nodeName, running: i.status?.phase?.rawValue == "Running", reason: i.status?.reason, message: i.status?.message)
        }
        var out: [Finding] = []
        for image in missing.keys.sorted() {
            let m = missing[image]!
            var f = finding(
                "IMAGE_NOT_FOUND", object: ObjectReference(kind: "Image", name: (try? ImageReference(parsing: image))?.name ?? image),
                summary: "image \(image) does not exist in Kumo (\(m.why)): \(m.objects.count) replica(s)/instance(s) cannot start",
                count: m.objects.count, detail: m.objects.prefix(10).map { "\($0.kind.lowercased()) \($0.name)" },
                evidence: [Evidence("kumo get images", m.why)])
            f.affects = Set(m.objects + m.objects.compactMap { ref in
                s.replicas.first { $0.reference == ref }.flatMap(SchedulingChecks.workloadRef)
            })
            out.append(f)
        }
        for image in failing.keys.sorted() {
            let m = failing[image]!
            var f = finding(
                "IMAGE_PULL_FAILED", node: m.nodes.count == 1 ? m.nodes.first : nil,
                object: ObjectReference(kind: "Image", name: (try? ImageReference(parsing: image))?.name ?? image),
                summary: "image \(image) exists but fails to download or verify on \(m.nodes.count) node(s)"
                    + (m.messages.first.map { ": \($0)" } ?? ""),
                count: m.objects.count, detail: m.objects.prefix(10).map { "\($0.kind.lowercased()) \($0.name)" },
                evidence: m.messages.prefix(3).map { Evidence("status ImagePullFailed", $0) })
            if m.nodes.count > 1 { f.nodes = m.nodes }
            f.affects = Set(m.objects + m.objects.compactMap { ref in
                s.replicas.first { $0.reference == ref }.flatMap(SchedulingChecks.workloadRef)
            })
            out.append(f)
        }
        return out
    }

    /// Why `text` resolves to no stored image, or nil when it resolves.
    static func unresolved(_ text: String, _ images: [String: Image]) -> String? {
        guard let ref = try? ImageReference(parsing: text) else { return "not a valid image reference" }
        guard let image = images[ref.name] else { return "no image \(ref.name)" }
        if let digest = ref.digest {
            let known = Set((image.status?.digests ?? []) + (image.spec.tags ?? [:]).values)
            return known.contains(digest) ? nil : "image \(ref.name) has no \(digest)"
        }
        guard image.spec.tags?[ref.tagOrLatest] != nil else {
            let tags = (image.spec.tags ?? [:]).keys.sorted().joined(separator: ", ")
            return "image \(ref.name) has no tag \(ref.tagOrLatest)" + (tags.isEmpty ? "" : " (tags: \(tags))")
        }
        return nil
    }
}
