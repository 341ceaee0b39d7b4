import KumoDoctor
import KumoModel
import KumoStore

extension DoctorService {
    /// Mutes, in the store (`/doctor/mutes/<CODE>`): they survive restarts and are in backups.
    func mutes() async -> [HealthMute] {
        guard let items = try? await rawList(Self.mutePrefix) else { return [] }
        return items.compactMap { try? decode(jsonBytes: $0.value, as: HealthMute.self) }.sorted { $0.code < $1.code }
    }

    public func listMutes() async -> [HealthMute] { await mutes() }

    /// Mutes `code` for `ttlSeconds` (nil: until it lapses; sticky: until removed or expired).
    public func mute(code: String, ttlSeconds: Int?, sticky: Bool, by: String) async throws(KumoError) -> HealthMute {
        let d = try Doctor.definition(code)
        if let ttl = ttlSeconds, !(1...(366 * 86400)).contains(ttl) {
            throw KumoError(.invalid, "ttl must be between 1 second and 366 days", field: "ttlSeconds")
        }
        if sticky && ttlSeconds == nil {
            throw KumoError(.invalid, "a sticky mute needs a ttl (it would never end otherwise)", field: "ttlSeconds")
        }
        let now = Timestamp.now()
        let current = ((try? await findings(fresh: true).findings) ?? state.withLock { $0.findings }).filter { $0.code == d.code }
        let m = HealthMute(
            code: d.code, until: ttlSeconds.map { (now + .seconds(Int64($0))).rfc3339 }, sticky: sticky,
            count: current.isEmpty ? nil : current.reduce(0) { $0 + max($1.count, 1) }, createdAt: now.rfc3339, createdBy: by)
        do {
            _ = try await core.store.commit(Txn(operations: [.put(Self.mutePrefix + d.code, encodeJSON(m))]))
        } catch {
            throw KumoError(.unavailable, "failed to store the mute of \(d.code): \(error)", cause: error)
        }
        _ = try? await evaluate()
        return m
    }

    /// Removes the mute of `code`; false when there was none.
    @discardableResult
    public func deleteMute(_ code: String) async -> Bool {
        let key = Self.mutePrefix + code.uppercased()
        guard (try? await core.store.get(key)) ?? nil != nil else { return false }
        _ = try? await core.store.commit(Txn(operations: [.delete(key)]))
        return true
    }
}
