import ArgumentParser
import Foundation
import KumoAPI
import KumoImages
import KumoModel
import KumoSystem

/// `kumo image push|ls|rm`: the image service from the command line.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Push, list and remove images.",
        discussion: """
            Images are OCI images kept by the server (blobs by sha256); nodes pull them on demand.
            Examples: kumo image push busybox:latest --from-busybox
                      kumo image push web:v1 --from-dir ./rootfs --cmd /bin/httpd --cmd -f
                      kumo image push app:1.0 --oci-layout ./layout --ref 1.0
                      kumo image ls    kumo image rm web:v1
            """,
        subcommands: [ImagePushCommand.self, ImageListCommand.self, ImageRemoveCommand.self])
}

struct ImagePushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload an image: from a directory, a tar, an OCI image layout, or the host's busybox.",
        discussion: """
            Exactly one of --from-dir, --from-tar, --oci-layout, --from-busybox (container images), --kernel with \
            --initrd (a VM `kernel` image, booted directly with --cmdline), or --disk (a VM `disk` image, raw or \
            qcow2, booted by firmware). Blobs the server already has are not uploaded again; every blob is \
            sha256-addressed and verified; a corrupt or truncated tar is refused before anything is uploaded.
            Example: kumo image push tiny-kernel:latest --kernel vmlinuz --initrd initrd.img --cmdline "console=ttyS0"
            """)

    @OptionGroup var client: ClientOptions

    @Argument(help: "NAME:TAG to push to (default tag latest), e.g. library/busybox:1.36.")
    var reference: String

    @Option(help: "Directory whose contents become the image's root filesystem (one layer).")
    var fromDir: String?

    @Option(help: "Tar file (plain or gzip) of the root filesystem (one layer).")
    var fromTar: String?

    @Option(help: "OCI image layout directory (index.json, blobs/) built elsewhere; pushed as is.")
    var ociLayout: String?

    @Option(help: "With --oci-layout: the manifest's org.opencontainers.image.ref.name (default: the only one).")
    var ref: String?

    @Flag(help: "Build the demo image from the host's busybox-static (default command /bin/sh).")
    var fromBusybox = false

    @Option(help: "VM kernel image: the kernel file (with --initrd).")
    var kernel: String?

    @Option(help: "VM kernel image: the initramfs file.")
    var initrd: String?

    @Option(help: "VM kernel image: the kernel command line (default: console=ttyS0 panic=-1 quiet).")
    var cmdline: String?

    @Option(help: "VM disk image file (raw or qcow2, detected), booted by firmware.")
    var disk: String?

    @Option(parsing: .singleValue, help: "Entrypoint argument (repeat for each word).")
    var entrypoint: [String] = []

    @Option(parsing: .singleValue, help: "Command argument (repeat for each word).")
    var cmd: [String] = []

    @Option(parsing: .singleValue, help: "Environment variable KEY=VALUE (repeatable).")
    var env: [String] = []

    @Option(help: "Working directory of the image's processes.")
    var workdir: String?

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func source() throws(KumoError) -> ImageBuilder.Source {
        var sources: [ImageBuilder.Source] = []
        if let fromDir { sources.append(.directory(fromDir)) }
        if let fromTar { sources.append(.tar(fromTar)) }
        if let ociLayout { sources.append(.layout(ociLayout, ref: ref)) }
        if fromBusybox { sources.append(.busybox) }
        if let kernel {
            guard let initrd else { throw KumoError(.invalid, "--kernel needs --initrd", field: "initrd") }
            sources.append(.kernel(kernel, initrd: initrd, cmdline: cmdline ?? "console=ttyS0 panic=-1 quiet"))
        } else if initrd != nil || cmdline != nil {
            throw KumoError(.invalid, "--initrd and --cmdline apply only with --kernel", field: "kernel")
        }
        if let disk { sources.append(.disk(disk)) }
        guard sources.count == 1 else {
            throw KumoError(
                .invalid, "give exactly one of --from-dir, --from-tar, --oci-layout, --from-busybox, --kernel, --disk")
        }
        if ref != nil && ociLayout == nil { throw KumoError(.invalid, "--ref applies only to --oci-layout", field: "ref") }
        return sources[0]
    }

    func run() async throws {
        try await runReporting {
            let source = try source()
            let runConfig = try ImageBuilder.runConfig(entrypoint: entrypoint, cmd: cmd, env: env, workdir: workdir)
            let pusher = ImagePusher(client: try client.client(), progress: ProgressReporter(quiet: quiet))
            let digest = try await pusher.push(reference, from: source, run: runConfig, command: Command())
            printOut(digest)
        }
    }
}

struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images and their tags.")

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runReporting {
            let list = try await client.client().send(.GET, APIPaths.collection(.image, project: nil)).json()
            let items = list["items"]?.arrayValue ?? []
            if items.isEmpty {
                printErr("No images.")
                return
            }
            printOut(Self.table(items))
        }
    }

    /// NAME, TAGS, DIGEST (of `latest`, else the first tag; 12 hex digits), SIZE, LAYERS.
    static func table(_ items: [JSONValue]) -> String {
        var t = Table(headers: ["NAME", "TAGS", "DIGEST", "SIZE", "LAYERS"])
        for image in items {
            let tags = image["spec"]?["tags"]?.objectValue ?? [:]
            let names = tags.keys.sorted()
            let shown = tags["latest"] ?? names.first.flatMap { tags[$0] }
            let digest = shown?.stringValue.map { String($0.dropFirst("sha256:".count).prefix(12)) } ?? "-"
            let size = image["status"]?["sizeBytes"]?.numberValue.map { ProgressReporter.human(Int64($0)) } ?? "-"
            let layers = image["status"]?["layers"]?.numberValue.map { String(Int($0)) } ?? "-"
            t.rows.append([
                image["metadata"]?["name"]?.stringValue ?? "", names.isEmpty ? "<none>" : names.joined(separator: ","), digest,
                size, layers,
            ])
        }
        return t.render()
    }
}

struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a tag (NAME:TAG) or a whole image (NAME); unused blobs are collected later.")

    @OptionGroup var client: ClientOptions

    @Argument(help: "NAME:TAG or NAME.")
    var reference: String

    func run() async throws {
        try await runReporting {
            let ref = try ImageReference(parsing: reference)
            let api = try client.client()
            if let tag = ref.tag {
                try await api.send(.DELETE, APIPaths.imageTag(ref.name, tag: tag))
                printOut("untagged \(ref.name):\(tag)")
            } else {
                try await api.send(.DELETE, APIPaths.object(.image, project: nil, name: ref.name))
                printOut("deleted image \(ref.name)")
            }
        }
    }
}
