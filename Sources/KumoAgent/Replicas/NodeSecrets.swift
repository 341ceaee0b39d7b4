import KumoAPI
import KumoModel
import Logging
import Synchronization

/// The secrets this node's replicas use, followed by one watch for the whole agent (not a poll per replica).
/// The server shows a node's watch only the secrets that replicas bound to it reference, and starts sending a
/// secret's changes from the revision a replica referencing it is bound — so a replica's start reads its
/// secrets once (`fetch`) and every later change arrives here and is handed to the runners that mount it.
///
/// Versions are kept by revision, newest wins: a start's read and the watch can overlap, and an older version
/// must never overwrite a newer one in a container's files. The loop lists, then watches from the list's
/// revision; when the watch ends — 410 (the server no longer has that history) at once, other failures after a
/// second — it lists again. Failures are logged and counted (`kumo_agent_secret_failures_total`, `state()`).
final class NodeSecrets: Sendable {
    struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
        var project: String
        var name: String

        var description: String { "\(project)/\(name)" }
        static func < (a: Key, b: Key) -> Bool { (a.project, a.name) < (b.project, b.name) }
    }

    struct Stats: Sendable {
        var revision: Int64 = 0
        var relists = 0
        var updates = 0
        var watchFailures = 0
        var deliveryFailures = 0
        var lastError: String?
    }

    /// Hands a new version of a secret to the runners that mount it; false if any could not write it.
    typealias Deliver = @Sendable (Key, [String: [UInt8]]) async -> Bool

    let api: AgentAPI
    let metrics: AgentMetrics
    let logger: Logger
    let relistDelay: Duration
    private let versions = Mutex<[Key: AgentAPI.SecretVersion]>([:])
    private let stats = Mutex(Stats())

    init(api: AgentAPI, metrics: AgentMetrics, logger: Logger, relistDelay: Duration = .seconds(1)) {
        self.api = api
        self.metrics = metrics
        self.logger = logger
        self.relistDelay = relistDelay
    }

    /// A start's read of one secret: from the server (which checks that a replica bound here uses it), kept so
    /// that an older version still in flight on the watch does not replace it.
    func fetch(project: String, name: String) async throws(KumoError) -> [String: [UInt8]] {
        let version = try await api.secretVersion(project: project, name: name)
        record(Key(project: project, name: name), version)
        return version.data
    }

    /// The newest version known (nil: never read, or deleted).
    func current(_ key: Key) -> [String: [UInt8]]? { versions.withLock { $0[key]?.data } }

    /// Keeps `version` if it is newer than the one known; whether it was.
    @discardableResult
    func record(_ key: Key, _ version: AgentAPI.SecretVersion) -> Bool {
        versions.withLock { v in
            if let known = v[key], known.revision >= version.revision { return false }
            v[key] = version
            return true
        }
    }

    func run(deliver: Deliver) async {
        while !Task.isCancelled {
            do {
                let revision = try await relist(deliver: deliver)
                let stream = try await api.watchSecrets(since: revision)
                for try await event in stream {
                    await apply(event, deliver: deliver)
                }
                logger.info("secret watch ended; listing again")
            } catch {
                let e = (error as? KumoError) ?? KumoError(.unavailable, "\(error)")
                if Task.isCancelled { return }
                if e.code == .gone {
                    // the server no longer has our revision (410): a new list gives one it has
                    logger.info("secret watch expired; listing again", metadata: ["error": "\(e.message)"])
                    continue
                }
                failed(e)
                try? await Task.sleep(for: relistDelay)
            }
        }
    }

    /// Lists, keeps and delivers every newer version; forgets the secrets no replica here references any more.
    /// Returns the revision to watch from.
    func relist(deliver: Deliver) async throws(KumoError) -> Int64 {
        let (items, revision) = try await api.listSecrets()
        var listed: [Key: AgentAPI.SecretVersion] = [:]
        for item in items {
            guard let key = Self.key(of: item) else { continue }
            do {
                listed[key] = try AgentAPI.secretVersion(of: item)
            } catch {
                failed(error)
            }
        }
        versions.withLock { v in
            for (key, known) in v where listed[key] == nil && known.revision <= revision { v[key] = nil }
        }
        stats.withLock {
            $0.relists += 1
            $0.revision = revision
            $0.lastError = nil
        }
        for key in listed.keys.sorted() { await keep(key, listed[key]!, deliver: deliver) }
        return revision
    }

    /// One watch event: a newer version is kept and delivered; a deleted secret is forgotten (containers keep
    /// the files they have, as they keep a deleted secret's environment).
    func apply(_ event: WatchEventWire, deliver: Deliver) async {
        guard let key = Self.key(of: event.object) else { return }
        if let rv = event.object["metadata"]?["resourceVersion"]?.stringValue.flatMap({ Int64($0) }) {
            stats.withLock { $0.revision = max($0.revision, rv) }
        }
        if event.type == "DELETED" {
            versions.withLock { $0[key] = nil }
            logger.notice("secret deleted; running containers keep its files", metadata: ["secret": "\(key)"])
            return
        }
        do {
            await keep(key, try AgentAPI.secretVersion(of: event.object), deliver: deliver)
        } catch {
            failed(error)
        }
    }

    func keep(_ key: Key, _ version: AgentAPI.SecretVersion, deliver: Deliver) async {
        guard record(key, version) else { return }
        stats.withLock { $0.updates += 1 }
        metrics.secretUpdates.increment()
        if !(await deliver(key, version.data)) {
            stats.withLock { $0.deliveryFailures += 1 }
            metrics.secretFailures["delivery"]?.increment()
        }
    }

    func failed(_ error: KumoError) {
        stats.withLock {
            $0.watchFailures += 1
            $0.lastError = error.message
        }
        metrics.secretFailures["watch"]?.increment()
        logger.warning("secret watch failed; listing again", metadata: ["error": "\(error.message)"])
    }

    static func key(of object: JSONValue) -> Key? {
        guard let project = object["metadata"]?["project"]?.stringValue, let name = object["metadata"]?["name"]?.stringValue
        else { return nil }
        return Key(project: project, name: name)
    }

    /// For `kumo state agent/<node>`: what the watch has seen, never a value.
    func state() -> JSONValue {
        let s = stats.withLock { $0 }
        let known = versions.withLock { $0.keys.sorted().map { JSONValue.string($0.description) } }
        return [
            "watchRevision": .string(String(s.revision)), "relists": .number(Double(s.relists)),
            "updates": .number(Double(s.updates)), "watchFailures": .number(Double(s.watchFailures)),
            "deliveryFailures": .number(Double(s.deliveryFailures)), "lastError": s.lastError.map { .string($0) } ?? .null,
            "secrets": .array(known),
        ]
    }
}
