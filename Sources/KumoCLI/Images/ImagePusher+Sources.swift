import Foundation
import KumoAPI
import KumoModel
import KumoSystem

extension ImagePusher {
    /// What to push.
    enum Source: Sendable, Equatable {
        case directory(String)
        case tar(String)
        case layout(String, ref: String?)
        case busybox
        case kernel(String, initrd: String, cmdline: String)
        case disk(String)
    }

    /// `kumo image push NAME:TAG <source>`: builds (or reads) the blobs in a scratch directory that is removed
    /// afterwards, uploads what the server lacks, tags the manifest. Returns the manifest digest.
    func push(_ reference: String, from source: Source, run: OCIImageConfig.RunConfig, command: Command)
        async throws(KumoError) -> String
    {
        let ref = try ImageReference(parsing: reference)
        if ref.digest != nil {
            throw KumoError(.invalid, "push to NAME:TAG, not to a digest (\(reference))", field: "reference")
        }
        let tag = ref.tagOrLatest
        let work = NSTemporaryDirectory() + "kumo-push-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            throw KumoError(.internal, "failed to create \(work): \(error)", cause: error)
        }
        defer { _ = try? FileManager.default.removeItem(atPath: work) }
        let builder = ImageBuilder(command: command, workDir: work)
        var run = run
        switch source {
        case .layout(let dir, let layoutRef):
            if run != OCIImageConfig.RunConfig() {
                throw KumoError(
                    .invalid, "--cmd/--entrypoint/--env/--workdir do not apply to --oci-layout (its config is pushed as is)")
            }
            let (manifest, blobs) = try builder.layout(dir, ref: layoutRef)
            return try await push(name: ref.name, tag: tag, manifest: manifest, blobs: blobs)
        case .directory(let dir):
            let (layer, diffID) = try await builder.layer(fromDirectory: dir)
            return try await push(name: ref.name, tag: tag, config: try builder.config(diffIDs: [diffID], run: run), layers: [layer])
        case .tar(let file):
            let (layer, diffID) = try await builder.layer(fromTar: file)
            return try await push(name: ref.name, tag: tag, config: try builder.config(diffIDs: [diffID], run: run), layers: [layer])
        case .kernel(let kernel, let initrd, let cmdline):
            try Self.requireDefaultRun(run)
            let config = try builder.write(
                VMImageConfig(kind: .kernel, cmdline: cmdline), mediaType: VMImageMediaType.config, name: "vm-config.json")
            let layers = [
                try builder.file(kernel, mediaType: VMImageMediaType.kernel),
                try builder.file(initrd, mediaType: VMImageMediaType.initrd),
            ]
            return try await push(name: ref.name, tag: tag, config: config, layers: layers)
        case .disk(let file):
            try Self.requireDefaultRun(run)
            let format = Self.diskFormat(file)
            let config = try builder.write(
                VMImageConfig(kind: .disk, diskFormat: format), mediaType: VMImageMediaType.config, name: "vm-config.json")
            let layer = try builder.file(file, mediaType: format == "qcow2" ? VMImageMediaType.diskQcow2 : VMImageMediaType.diskRaw)
            return try await push(name: ref.name, tag: tag, config: config, layers: [layer])
        case .busybox:
            let root = try await builder.busyboxRootfs()
            if run.Cmd == nil && run.Entrypoint == nil { run.Cmd = ["/bin/sh"] }
            let (layer, diffID) = try await builder.layer(fromDirectory: root)
            return try await push(name: ref.name, tag: tag, config: try builder.config(diffIDs: [diffID], run: run), layers: [layer])
        }
    }

    static func requireDefaultRun(_ run: OCIImageConfig.RunConfig) throws(KumoError) {
        if run != OCIImageConfig.RunConfig() {
            throw KumoError(.invalid, "--cmd/--entrypoint/--env/--workdir do not apply to VM images")
        }
    }

    /// `qcow2` when the file starts with QEMU's magic `QFI\xfb`, else `raw`.
    static func diskFormat(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "raw" }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)).map(Array.init) ?? []
        return magic == [0x51, 0x46, 0x49, 0xfb] ? "qcow2" : "raw"
    }

    /// The run settings from the command line; `PATH` is set unless `--env` sets it.
    static func runConfig(entrypoint: [String], cmd: [String], env: [String], workdir: String?) throws(KumoError)
        -> OCIImageConfig.RunConfig
    {
        for e in env where !e.contains("=") || e.hasPrefix("=") {
            throw KumoError(.invalid, "--env \(e): expected KEY=VALUE", field: "env")
        }
        return OCIImageConfig.RunConfig(
            Entrypoint: entrypoint.isEmpty ? nil : entrypoint, Cmd: cmd.isEmpty ? nil : cmd,
            Env: env.isEmpty ? nil : env, WorkingDir: workdir)
    }
}
