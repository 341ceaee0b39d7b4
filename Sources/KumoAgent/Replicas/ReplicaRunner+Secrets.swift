import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// Re-delivers changed secrets to the running container's files (env changes apply at the next start).
    func refreshSecretFiles() async {
        let replica = m.withLock { $0.replica }
        // an adopted container (agent restart) has no plan yet: its mounts follow from the spec
        let mounts =
            plan.withLock({ $0?.secretMounts })
            ?? (replica.spec.secrets ?? []).map {
                SecretMount(
                    secret: $0.name, hostDirectory: context.driver.secretDirectory(uid, secret: $0.name),
                    mountPath: $0.effectiveMountPath)
            }
        guard !mounts.isEmpty else { return }
        for mount in mounts {
            guard let data = try? await context.api.secret(project: project, name: mount.secret) else { continue }
            let current = (try? FileManager.default.contentsOfDirectory(atPath: mount.hostDirectory)) ?? []
            let changed = Set(current) != Set(data.keys) || data.contains { key, value in
                FileManager.default.contents(atPath: mount.hostDirectory + "/" + key).map(Array.init) != value
            }
            guard changed else { continue }
            do {
                try context.driver.writeSecretFiles(data, into: mount.hostDirectory)
                logger.info("secret files updated", metadata: ["secret": "\(mount.secret)"])
                await context.api.event(
                    project: project, replica: replica.metadata.name, reason: "SecretUpdated",
                    message: "secret \(mount.secret) changed; its files under \(mount.mountPath) were rewritten")
            } catch {
                logger.warning("could not update secret files", metadata: ["secret": "\(mount.secret)", "error": "\(error.message)"])
            }
        }
    }
}
