/// The subset of the OCI runtime specification (1.0.2, as runc 1.1 reads it) that Kumo writes into a bundle's
/// `config.json`. Field names follow the spec exactly; nil fields are left out of the JSON.
public struct OCIConfig: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var mounts: [Mount]
    public var linux: Linux

    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities
        public var rlimits: [Rlimit]
        public var noNewPrivileges: Bool
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]
        public var effective: [String]
        public var permitted: [String]
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String
        public var readonly: Bool
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]?
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var cgroupsPath: String
        public var resources: Resources
        public var namespaces: [Namespace]
        public var maskedPaths: [String]
        public var readonlyPaths: [String]
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?
    }

    public struct Resources: Codable, Sendable, Equatable {
        public var devices: [DeviceRule]
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
    }

    public struct DeviceRule: Codable, Sendable, Equatable {
        public var allow: Bool
        public var access: String
    }

    public struct Memory: Codable, Sendable, Equatable {
        public var limit: Int64
    }

    public struct CPU: Codable, Sendable, Equatable {
        public var quota: Int64
        public var period: UInt64
    }

    public struct Pids: Codable, Sendable, Equatable {
        public var limit: Int64
    }
}
