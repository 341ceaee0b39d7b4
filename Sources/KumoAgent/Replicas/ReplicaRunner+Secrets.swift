import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// The container's secret volumes: from its plan, or — an adopted container (agent restart) has no plan — from
    /// the spec.
    func secretMounts() -> [SecretMount] {
        if let mounts = plan.withLock({ $0?.secretMounts }) { return mounts }
        let replica = m.withLock { $0.replica }
        return (replica.spec.secrets ?? []).map {
            SecretMount(
                secret: $0.name, hostDirectory: context.driver.secretDirectory(uid, secret: $0.name),
                mountPath: $0.effectiveMountPath)
        }
    }

    /// A new version of secret `secret` (from the node's secret watch) → the running container's files of it;
    /// environment variables change at the next start. Only while the container runs: a start writes the files
    /// itself and then catches up (`catchUpSecretFiles`), and a stop removes them — the state is checked and the
    /// files written under the runner's lock, so a stop cannot slip in between and leave them behind.
    /// Returns false when the files could not be written (logged).
    func deliverSecret(_ secret: String, _ data: [String: [UInt8]]) async -> Bool {
        let mounts = secretMounts().filter { $0.secret == secret }
        guard !mounts.isEmpty else { return true }
        var ok = true
        for mount in mounts {
            let outcome = m.withLock { s -> Result<Bool, KumoError> in
                guard case .running = s.state, s.stop == nil else { return .success(false) }
                guard Self.filesDiffer(data, in: mount.hostDirectory) else { return .success(false) }
                do throws(KumoError) {
                    try context.driver.writeSecretFiles(data, into: mount.hostDirectory)
                    return .success(true)
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(false):
                continue
            case .success(true):
                logger.info("secret files updated", metadata: ["secret": "\(mount.secret)"])
                await context.api.event(
                    project: project, replica: name, reason: "SecretUpdated",
                    message: "secret \(mount.secret) changed; its files under \(mount.mountPath) were rewritten")
            case .failure(let error):
                ok = false
                logger.error(
                    "could not update secret files; the container still sees the old values",
                    metadata: ["secret": "\(mount.secret)", "error": "\(error.message)"])
            }
        }
        return ok
    }

    /// Writes the newest version the node knows of each mounted secret (a version that arrived while the
    /// container was starting, or, after an agent restart, before this runner existed).
    func catchUpSecretFiles() async {
        for mount in secretMounts() {
            guard let data = secrets.current(NodeSecrets.Key(project: project, name: mount.secret)) else { continue }
            _ = await deliverSecret(mount.secret, data)
        }
    }

    /// Whether `directory` holds anything but exactly `data` (one file per key).
    static func filesDiffer(_ data: [String: [UInt8]], in directory: String) -> Bool {
        let current = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(current) != Set(data.keys) || data.contains { key, value in
            FileManager.default.contents(atPath: directory + "/" + key).map(Array.init) != value
        }
    }
}
