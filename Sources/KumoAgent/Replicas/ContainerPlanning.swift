import Crypto
import KumoModel

/// An image ready to run: its unpacked root and the defaults from its config.
public struct RunnableImage: Sendable, Equatable {
    public var reference: String
    public var manifestDigest: String
    public var rootfs: String
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String]
    public var workingDir: String?

    public init(
        reference: String, manifestDigest: String, rootfs: String, entrypoint: [String]?, cmd: [String]?,
        env: [String], workingDir: String?
    ) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.rootfs = rootfs
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
    }
}

/// Where the agent gets images from (the image store: download, verify, unpack once per digest).
public protocol ImageProvider: Sendable {
    func prepare(_ reference: String) async throws(KumoError) -> RunnableImage
}

/// Names of a replica's host-side objects: derived from its uid, short enough for interface names (≤ 15
/// characters), and made only of `[a-z0-9-]` whatever the replica is called.
public struct SandboxNamer: Sendable {
    public init() {}

    static func hex(_ uid: String) -> String {
        SHA256.hash(data: Array(uid.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func netns(_ uid: String) -> String { "kumo-" + String(Self.hex(uid).prefix(16)) }
    public func hostVeth(_ uid: String) -> String { "kv" + String(Self.hex(uid).prefix(10)) }
}

/// Pure: replica + image + node subnet → the container plan (Kubernetes' rules for command and args: `command`
/// replaces the image's entrypoint, `args` its cmd).
public enum ContainerPlanning {
    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public static func plan(
        _ replica: Replica, image: RunnableImage, uid: String, subnet: IPv4Network, namer: SandboxNamer,
        secrets: [String: [String: [UInt8]]] = [:], secretDirectory: (String) -> String = { "/run/kumo/secrets/\($0)" }
    ) throws(KumoError) -> ContainerPlan {
        guard let network = replica.spec.network, let ip = IPv4Address(network.ip) else {
            throw KumoError(.invalid, "replica has no address (spec.network): it is not bound yet", field: "spec.network")
        }
        guard subnet.contains(ip) else {
            throw KumoError(
                .invalid, "replica address \(ip) is outside this node's subnet \(subnet)", field: "spec.network.ip")
        }
        let args: [String]
        if let command = replica.spec.command, !command.isEmpty {
            args = command + (replica.spec.args ?? [])
        } else {
            args = (image.entrypoint ?? []) + (replica.spec.args ?? image.cmd ?? [])
        }
        guard !args.isEmpty else {
            throw KumoError(
                .invalid, "nothing to run: the image \(image.reference) has no entrypoint or cmd and the replica gives no command",
                field: "spec.command")
        }
        var env: [String] = []
        var seen: Set<String> = []
        func add(_ entry: String) {
            let key = String(entry.prefix { $0 != "=" })
            if seen.insert(key).inserted {
                env.append(entry)
            } else if let i = env.firstIndex(where: { $0.hasPrefix(key + "=") }) {
                env[i] = entry
            }
        }
        add(defaultPath)
        for e in image.env { add(e) }
        for e in replica.spec.env ?? [] {
            if let ref = e.secretRef {
                guard let data = secrets[ref.name] else {
                    throw KumoError(.notFound, "secret \(ref.name) (for environment variable \(e.name)) not found", field: "spec.env")
                }
                guard let value = data[ref.key] else {
                    throw KumoError(
                        .invalid, "secret \(ref.name) has no key \(ref.key) (for environment variable \(e.name))", field: "spec.env")
                }
                add("\(e.name)=\(String(decoding: value, as: UTF8.self))")
                continue
            }
            add("\(e.name)=\(e.value ?? "")")
        }
        add("HOSTNAME=\(replica.metadata.name)")
        var mounts: [SecretMount] = []
        for volume in replica.spec.secrets ?? [] {
            guard secrets[volume.name] != nil else {
                throw KumoError(.notFound, "secret \(volume.name) (mounted at \(volume.effectiveMountPath)) not found", field: "spec.secrets")
            }
            mounts.append(
                SecretMount(secret: volume.name, hostDirectory: secretDirectory(volume.name), mountPath: volume.effectiveMountPath))
        }
        var plan = ContainerPlan(
            id: uid, netns: namer.netns(uid), hostVeth: namer.hostVeth(uid), ip: ip, subnet: subnet,
            mac: network.mac, rootfs: image.rootfs, args: args, env: env, cwd: image.workingDir ?? "/",
            hostname: replica.metadata.name, cpuMillicores: replica.spec.resources?.cpu?.millicores,
            memoryBytes: replica.spec.resources?.memory?.bytes)
        plan.secretMounts = mounts
        plan.envHasSecrets = (replica.spec.env ?? []).contains { $0.secretRef != nil }
        plan.dnsSearch = (replica.metadata.project.map { ["\($0).kumo"] } ?? []) + ["kumo"]
        return plan
    }

    /// The secrets a replica needs: those its env refers to and those it mounts.
    public static func referencedSecrets(_ replica: Replica) -> Set<String> {
        Set((replica.spec.env ?? []).compactMap { $0.secretRef?.name } + (replica.spec.secrets ?? []).map(\.name))
    }
}
