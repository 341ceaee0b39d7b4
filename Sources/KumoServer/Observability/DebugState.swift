import Foundation
import KumoAPI
import KumoModel

/// `GET /debug/state` (`kumo state server`): the server's internal state as JSON.
enum DebugState {
    static func server(_ core: ServerCore) async throws(KumoError) -> JSONValue {
        let status: JSONValue
        do {
            let s = try await core.store.status()
            status = .object([
                "revision": .number(Double(s.revision)), "compactedRevision": .number(Double(s.compactedRevision)),
                "storeWatchers": .number(Double(s.watchers)), "databaseBytes": .number(Double(s.databaseBytes)),
                "walBytes": .number(Double(s.walBytes)), "pendingWrites": .number(Double(s.pendingWrites)),
                "synchronous": .string(core.config.synchronousFull ? "FULL" : "NORMAL"),
                "path": .string(core.config.databasePath),
            ])
        } catch {
            throw KumoError(.unavailable, "failed to read store status: \(error)", cause: error)
        }
        let c = core.config
        return .object([
            "component": "server",
            "version": .string(KumoVersion.current),
            "startedAt": .string(Timestamp(millisecondsSinceEpoch: Int64(core.startedAt.timeIntervalSince1970 * 1000)).rfc3339),
            "uptimeSeconds": .number(Date().timeIntervalSince(core.startedAt).rounded()),
            "store": status,
            "api": .object(["openWatchStreams": .number(Double(core.metrics.openWatchers))]),
            "watchBroadcaster": core.broadcaster.snapshot(),
            "controllers": core.componentStates(),
            "tls": core.serving?.snapshot() ?? ["source": "none (plain HTTP)", "caFingerprint": .string(core.ca.fingerprint)],
            "auth": ["rateLimitedSourcesTracked": .number(Double(core.failureLimiter.trackedSources))],
            "config": .object([
                "dataDir": .string(c.dataDir), "listen": .string("\(c.host):\(c.port)"),
                "maxBodyBytes": .number(Double(c.maxBodyBytes)), "maxBlobBytes": .number(Double(c.maxBlobBytes)),
                "historyMaxAgeSeconds": .number(c.historyMaxAge.secondsValue),
                "historyMaxPerObject": .number(Double(c.historyMaxPerObject)),
                "eventTTLSeconds": .number(c.eventTTL.secondsValue),
                "compactKeepRevisions": .number(Double(c.compactKeepRevisions)),
            ]),
            "retention": core.retentionState.snapshot(),
            "images": core.images.snapshot(),
            "secrets": core.resources.secrets.snapshot(),
        ])
    }
}
