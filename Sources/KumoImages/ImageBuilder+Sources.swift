import Foundation
import KumoModel
import KumoSystem

extension ImageBuilder {
    /// What an image is built from.
    public enum Source: Sendable, Equatable {
        case directory(String)
        case tar(String)
        case layout(String, ref: String?)
        case busybox
        case kernel(String, initrd: String, cmdline: String)
        case disk(String)
    }

    /// Builds (or reads) the blobs of the image `source` describes, run with `run`, in `workDir`.
    public func build(_ source: Source, run: OCIImageConfig.RunConfig) async throws(KumoError) -> BuiltImage {
        var run = run
        switch source {
        case .layout(let dir, let layoutRef):
            if run != OCIImageConfig.RunConfig() {
                throw KumoError(
                    .invalid, "--cmd/--entrypoint/--env/--workdir do not apply to --oci-layout (its config is pushed as is)")
            }
            let (manifest, blobs) = try self.layout(dir, ref: layoutRef)
            return BuiltImage(manifest: manifest, blobs: blobs)
        case .directory(let dir):
            let (layer, diffID) = try await self.layer(fromDirectory: dir)
            return try BuiltImage(config: try self.config(diffIDs: [diffID], run: run), layers: [layer])
        case .tar(let file):
            let (layer, diffID) = try await self.layer(fromTar: file)
            return try BuiltImage(config: try self.config(diffIDs: [diffID], run: run), layers: [layer])
        case .kernel(let kernel, let initrd, let cmdline):
            try Self.requireDefaultRun(run)
            let config = try self.write(
                VMImageConfig(kind: .kernel, cmdline: cmdline), mediaType: VMImageMediaType.config, name: "vm-config.json")
            let layers = [
                try self.file(kernel, mediaType: VMImageMediaType.kernel),
                try self.file(initrd, mediaType: VMImageMediaType.initrd),
            ]
            return try BuiltImage(config: config, layers: layers)
        case .disk(let file):
            try Self.requireDefaultRun(run)
            let format = Self.diskFormat(file)
            let config = try self.write(
                VMImageConfig(kind: .disk, diskFormat: format), mediaType: VMImageMediaType.config, name: "vm-config.json")
            let layer = try self.file(file, mediaType: format == "qcow2" ? VMImageMediaType.diskQcow2 : VMImageMediaType.diskRaw)
            return try BuiltImage(config: config, layers: [layer])
        case .busybox:
            let root = try await self.busyboxRootfs()
            if run.Cmd == nil && run.Entrypoint == nil { run.Cmd = ["/bin/sh"] }
            let (layer, diffID) = try await self.layer(fromDirectory: root)
            return try BuiltImage(config: try self.config(diffIDs: [diffID], run: run), layers: [layer])
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
    public static func runConfig(entrypoint: [String], cmd: [String], env: [String], workdir: String?) throws(KumoError)
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
