import Foundation
import KumoAPI
import KumoModel

/// What the agent remembers about a replica it runs, on disk next to runc's own state, so that a restarted
/// agent re-adopts its running containers (same container, same restart count) and cleans up what it no
/// longer should run. Never holds secret material.
public struct ReplicaRecord: Codable, Sendable, Equatable {
    public var uid: String
    public var project: String
    public var name: String
    public var containerID: String
    public var netns: String
    public var hostVeth: String
    public var ip: String?
    public var restartCount: Int
    /// RFC 3339 start of the current container.
    public var startedAt: String?
    public var pid: Int32?

    static func path(_ dir: String, uid: String) -> String { "\(dir)/\(uid).json" }

    func save(in dir: String) throws(KumoError) {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let data = Data(KumoModel.encode(self).serialized())
            let target = Self.path(dir, uid: uid)
            let temp = target + ".tmp"
            try data.write(to: URL(fileURLWithPath: temp))
            _ = rename(temp, target)
        } catch {
            throw KumoError(.internal, "failed to save replica record \(uid): \(error)", cause: error)
        }
    }

    static func loadAll(from dir: String) -> [ReplicaRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { return nil }
            return try? KumoModel.decode(jsonBytes: data, as: ReplicaRecord.self)
        }
    }

    static func remove(uid: String, from dir: String) {
        try? FileManager.default.removeItem(atPath: path(dir, uid: uid))
    }
}
