/// One running copy of a container image, bound to a node (project-scoped); like a Pod.
public typealias Replica = Object<ReplicaSpec>

public struct ReplicaSpec: ResourceSpec, Hashable {
    public typealias Status = ReplicaStatus
    public static var kind: Kind { .replica }

    /// Image reference: `name`, `name:tag` or `name@sha256:…`.
    public var image: String
    /// Replaces the image's entrypoint.
    public var command: [String]?
    /// Replaces the image's arguments.
    public var args: [String]?
    public var env: [EnvVar]?
    /// Requested cpu and memory (cgroup limits); `pods` does not apply.
    public var resources: Resources?
    public var ports: [ContainerPort]?
    /// The node it is bound to (written by the scheduler's binding, or set by hand).
    public var nodeName: String?
    /// Address and MAC (written by the binding; owned by `ipam`).
    public var network: NetworkAttachment?
    /// Labels a node must carry.
    public var nodeSelector: [String: String]?
    public var tolerations: [Toleration]?
    /// Default Always.
    public var restartPolicy: RestartPolicy?
    public var readinessProbe: Probe?
    /// Failing it (failureThreshold times in a row) kills the container; the restart policy decides what next.
    public var livenessProbe: Probe?
    /// Time between SIGTERM and SIGKILL (default chosen by the agent).
    public var terminationGracePeriodSeconds: Int?
    /// An hour: longer only delays a stop the server waits for (see the Terminating deadline).
    public static let maxTerminationGracePeriodSeconds = 3600
    /// What an agent uses when the spec says nothing (`kumo agent`'s default).
    public static let defaultTerminationGracePeriodSeconds = 10
    /// Secrets of the same project mounted as files (one per key, mode 0400, on tmpfs), kept up to date.
    public var secrets: [SecretVolume]?

    public init(
        image: String, command: [String]? = nil, args: [String]? = nil, env: [EnvVar]? = nil,
        resources: Resources? = nil, ports: [ContainerPort]? = nil, nodeName: String? = nil,
        network: NetworkAttachment? = nil, nodeSelector: [String: String]? = nil, tolerations: [Toleration]? = nil,
        restartPolicy: RestartPolicy? = nil, readinessProbe: Probe? = nil, livenessProbe: Probe? = nil,
        terminationGracePeriodSeconds: Int? = nil
    ) {
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.resources = resources
        self.ports = ports
        self.nodeName = nodeName
        self.network = network
        self.nodeSelector = nodeSelector
        self.tolerations = tolerations
        self.restartPolicy = restartPolicy
        self.readinessProbe = readinessProbe
        self.livenessProbe = livenessProbe
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
    }

    public func validate(path: String, metadata: ObjectMeta) -> [FieldError] {
        var errors: [FieldError] = []
        if let why = Names.validateImageReference(image) { errors.append(FieldError("\(path).image", why)) }
        var envNames: Set<String> = []
        for (i, e) in (env ?? []).enumerated() {
            let at = "\(path).env[\(i)]"
            if !SpecValidation.isEnvName(e.name) {
                errors.append(FieldError("\(at).name", "must match [A-Za-z_][A-Za-z0-9_]*"))
            } else if !envNames.insert(e.name).inserted {
                errors.append(FieldError("\(at).name", "duplicate variable \"\(e.name)\""))
            }
            if e.value != nil && e.secretRef != nil {
                errors.append(FieldError("\(at).secretRef", "may not be set together with value"))
            }
            if let ref = e.secretRef {
                if let why = Names.validateDNSLabel(ref.name) {
                    errors.append(FieldError("\(at).secretRef.name", why))
                }
                if let why = SpecValidation.secretKeyReason(ref.key) {
                    errors.append(FieldError("\(at).secretRef.key", why))
                }
            }
        }
        if let resources {
            if resources.pods != nil {
                errors.append(FieldError("\(path).resources.pods", "does not apply to a replica"))
            }
            errors += resources.validate(path: "\(path).resources")
        }
        errors += ContainerPort.validate(ports, path: "\(path).ports")
        if let nodeName, let why = Names.validateDNSLabel(nodeName) {
            errors.append(FieldError("\(path).nodeName", why))
        }
        errors += network?.validate(path: "\(path).network") ?? []
        errors += MetadataValidation.validateLabels(nodeSelector, path: "\(path).nodeSelector")
        for (i, t) in (tolerations ?? []).enumerated() {
            errors += t.validate(path: "\(path).tolerations[\(i)]")
        }
        errors += readinessProbe?.validate(path: "\(path).readinessProbe") ?? []
        errors += livenessProbe?.validate(path: "\(path).livenessProbe") ?? []
        var mountPaths: Set<String> = []
        for (i, v) in (secrets ?? []).enumerated() {
            let at = "\(path).secrets[\(i)]"
            if let why = Names.validateDNSLabel(v.name) { errors.append(FieldError("\(at).name", why)) }
            let mount = v.effectiveMountPath
            if !mount.hasPrefix("/") || mount.split(separator: "/").contains("..") || mount == "/" {
                errors.append(FieldError("\(at).mountPath", "must be an absolute path without '..'"))
            } else if !mountPaths.insert(mount).inserted {
                errors.append(FieldError("\(at).mountPath", "\(mount) is mounted twice"))
            }
        }
        if let t = terminationGracePeriodSeconds, !(0...Self.maxTerminationGracePeriodSeconds).contains(t) {
            errors.append(
                FieldError("\(path).terminationGracePeriodSeconds", "must be between 0 and \(Self.maxTerminationGracePeriodSeconds)"))
        }
        return errors
    }
}

/// An environment variable: a literal `value` or a key of a Secret in the same project.
public struct EnvVar: Codable, Sendable, Equatable, Hashable {
    /// `[A-Za-z_][A-Za-z0-9_]*`
    public var name: String
    public var value: String?
    public var secretRef: SecretKeyRef?

    public init(name: String, value: String? = nil, secretRef: SecretKeyRef? = nil) {
        self.name = name
        self.value = value
        self.secretRef = secretRef
    }
}

/// One key of a Secret in the same project.
public struct SecretKeyRef: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var key: String

    public init(name: String, key: String) {
        self.name = name
        self.key = key
    }
}

/// Lets a replica be scheduled onto (or stay on) a node with a matching taint.
public struct Toleration: Codable, Sendable, Equatable, Hashable {
    /// Empty with operator Exists tolerates every taint.
    public var key: String?
    /// Default Equal.
    public var `operator`: Operator?
    /// Must be empty with operator Exists.
    public var value: String?
    /// Empty matches every effect.
    public var effect: TaintEffect?

    public enum Operator: String, Codable, CaseIterable, Sendable, Hashable {
        case equal = "Equal"
        case exists = "Exists"

        public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
    }

    public init(key: String? = nil, operator: Operator? = nil, value: String? = nil, effect: TaintEffect? = nil) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
    }

    /// Kubernetes matching: effect (if set) equal; Exists matches the key (or any key when empty);
    /// Equal matches key and value.
    public func tolerates(_ taint: Taint) -> Bool {
        if let effect, effect != taint.effect { return false }
        switch `operator` ?? .equal {
        case .exists:
            return (key ?? "").isEmpty || key == taint.key
        case .equal:
            return key == taint.key && (value ?? "") == (taint.value ?? "")
        }
    }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let key = self.key ?? ""
        if key.isEmpty {
            if (`operator` ?? .equal) != .exists {
                errors.append(FieldError("\(path).operator", "must be Exists when key is empty"))
            }
        } else if let why = MetadataValidation.labelKeyReason(key) {
            errors.append(FieldError("\(path).key", why))
        }
        if `operator` == .exists, let value, !value.isEmpty {
            errors.append(FieldError("\(path).value", "must be empty when operator is Exists"))
        } else if let value, let why = MetadataValidation.labelValueReason(value) {
            errors.append(FieldError("\(path).value", why))
        }
        return errors
    }
}

public enum RestartPolicy: String, Codable, CaseIterable, Sendable, Hashable {
    case always = "Always"
    case onFailure = "OnFailure"
    case never = "Never"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// How the agent decides a replica is ready: exactly one of `exec`, `httpGet`, `tcpSocket`.
public struct Probe: Codable, Sendable, Equatable, Hashable {
    /// Command run inside the container; exit 0 = ready.
    public var exec: [String]?
    public var httpGet: HTTPGet?
    public var tcpSocket: TCPSocket?
    /// Default chosen by the agent; at least 1.
    public var periodSeconds: Int?
    public var timeoutSeconds: Int?
    /// Consecutive failures before not ready.
    public var failureThreshold: Int?

    /// A 2xx/3xx answer to `GET http://<replica ip>:<port><path>` = ready.
    public struct HTTPGet: Codable, Sendable, Equatable, Hashable {
        public var path: String
        public var port: Int
        public init(path: String, port: Int) {
            self.path = path
            self.port = port
        }
    }

    /// A TCP connection accepted = ready.
    public struct TCPSocket: Codable, Sendable, Equatable, Hashable {
        public var port: Int
        public init(port: Int) { self.port = port }
    }

    public init(
        exec: [String]? = nil, httpGet: HTTPGet? = nil, tcpSocket: TCPSocket? = nil, periodSeconds: Int? = nil,
        timeoutSeconds: Int? = nil, failureThreshold: Int? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
    }

    func validate(path: String) -> [FieldError] {
        var errors: [FieldError] = []
        let handlers = [exec != nil, httpGet != nil, tcpSocket != nil].filter { $0 }.count
        if handlers != 1 {
            errors.append(
                FieldError(path, "must have exactly one of exec, httpGet, tcpSocket (has \(handlers))"))
        }
        if let exec, exec.isEmpty { errors.append(FieldError("\(path).exec", "must not be empty")) }
        if let httpGet {
            if !httpGet.path.hasPrefix("/") {
                errors.append(FieldError("\(path).httpGet.path", "must start with '/'"))
            }
            if !SpecValidation.isPort(httpGet.port) {
                errors.append(FieldError("\(path).httpGet.port", "must be between 1 and 65535"))
            }
        }
        if let tcpSocket, !SpecValidation.isPort(tcpSocket.port) {
            errors.append(FieldError("\(path).tcpSocket.port", "must be between 1 and 65535"))
        }
        for (name, value, range) in [
            ("periodSeconds", periodSeconds, 1...3600), ("timeoutSeconds", timeoutSeconds, 1...3600),
            ("failureThreshold", failureThreshold, 1...1000),
        ] {
            if let value, !range.contains(value) {
                errors.append(FieldError("\(path).\(name)", "must be between \(range.lowerBound) and \(range.upperBound)"))
            }
        }
        return errors
    }
}

public struct ReplicaStatus: Codable, Sendable, Equatable {
    public var phase: ReplicaPhase?
    public var ready: Bool?
    public var reason: String?
    public var message: String?
    public var restartCount: Int?
    /// Of the last exit (kept across restarts, with `finishedAt`); 128 + signal when killed.
    public var exitCode: Int?
    /// RFC 3339.
    public var startedAt: String?
    public var finishedAt: String?
    public var conditions: [Condition]?
    /// The replica's address as running (from its binding).
    public var ip: String?
    /// The runc container id on its node.
    public var containerID: String?
    /// The image manifest digest it runs.
    public var imageDigest: String?

    public init(
        phase: ReplicaPhase? = nil, ready: Bool? = nil, reason: String? = nil, message: String? = nil,
        restartCount: Int? = nil, exitCode: Int? = nil, startedAt: String? = nil, finishedAt: String? = nil,
        conditions: [Condition]? = nil
    ) {
        self.phase = phase
        self.ready = ready
        self.reason = reason
        self.message = message
        self.restartCount = restartCount
        self.exitCode = exitCode
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.conditions = conditions
    }
}

public enum ReplicaPhase: String, Codable, CaseIterable, Sendable, Hashable {
    case pending = "Pending"
    case scheduled = "Scheduled"
    case starting = "Starting"
    case running = "Running"
    case terminating = "Terminating"
    case succeeded = "Succeeded"
    case failed = "Failed"
    case unknown = "Unknown"

    public init(from decoder: any Decoder) throws { self = try FixedValues.decode(decoder) }
}

/// A Secret mounted into a replica's container: each key a read-only file under `mountPath`.
public struct SecretVolume: Codable, Sendable, Equatable, Hashable {
    /// The Secret (same project).
    public var name: String
    /// Default `/run/secrets/<name>`.
    public var mountPath: String?

    public init(name: String, mountPath: String? = nil) {
        self.name = name
        self.mountPath = mountPath
    }

    public var effectiveMountPath: String { mountPath ?? "/run/secrets/\(name)" }
}
