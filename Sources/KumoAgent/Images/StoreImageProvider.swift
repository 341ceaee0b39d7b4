import KumoModel

/// The runner's view of the node image cache: an unpacked root plus the image's run defaults.
struct StoreImageProvider: ImageProvider {
    let store: ImageStore

    func prepare(_ reference: String) async throws(KumoError) -> RunnableImage {
        let image = try await store.prepare(reference)
        return RunnableImage(
            reference: image.reference, manifestDigest: image.manifestDigest, rootfs: image.rootfs,
            entrypoint: image.config.entrypoint, cmd: image.config.cmd, env: image.config.env,
            workingDir: image.config.workingDir)
    }
}
