import Crypto
import Foundation
import KumoAPI
import KumoModel
import KumoStore
import Logging
import Synchronization

/// Bearer tokens. The admin token lives in `<data-dir>/admin.token` (0600, made at first start; delete the file
/// and restart to rotate it). Project tokens live in the store as SHA-256 hashes only
/// (`/auth/tokens/<hash>` + a name index `/auth/token-names/<name>`); the secret is shown once at creation.
public final class TokenService: Sendable {
    let store: any Store
    let adminHash: [UInt8]
    /// What the server presents to agents when it proxies to them (`kumo logs`, `kumo state agent/…`); handed to
    /// each agent in its join answer. `<data-dir>/agent.credential` (0600).
    public let agentCredential: String
    let logger: Logger
    /// Verified tokens by hash, with their expiry; cleared for a token on delete (this server is the only writer).
    private let cache = Mutex<[String: (identity: Identity, expires: Timestamp?)]>([:])
    /// When each token (by hash) was last accepted, and when that was last written to its record.
    private let lastUsed = Mutex<[String: (used: Timestamp, persisted: Timestamp?)]>([:])
    /// SHA-256 of the cluster CA: join tokens carry it (`K10<hash>::<secret>`).
    public let caFingerprint: String

    static let namePrefix = "/auth/token-names/"

    /// Loads the admin token from `adminTokenPath`, creating it (0600) if missing.
    public init(
        store: any Store, adminTokenPath: String, agentCredentialPath: String? = nil, caFingerprint: String = "",
        logger: Logger
    ) throws(KumoError) {
        self.store = store
        self.caFingerprint = caFingerprint
        self.logger = logger
        self.adminHash = Self.hash(try Self.loadOrCreate(adminTokenPath, what: "admin token", logger: logger))
        let credentialPath = agentCredentialPath ?? (adminTokenPath as NSString).deletingLastPathComponent + "/agent.credential"
        self.agentCredential = try Self.loadOrCreate(credentialPath, what: "agent credential", logger: logger)
    }

    /// A secret kept in a 0600 file, made at first start.
    static func loadOrCreate(_ path: String, what: String, logger: Logger) throws(KumoError) -> String {
        if let text = SecureFile.readSecret(path) { return text }
        let token = generate()
        try SecureFile.write(Data((token + "\n").utf8), to: path)
        logger.notice("created \(what)", metadata: ["path": "\(path)"])
        return token
    }

    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "kumo_" + b64
    }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// The identity of an `Authorization: Bearer …` header value → 401 when absent or unknown.
    public func authenticate(authorization: String?) async throws(KumoError) -> Identity {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            throw KumoError(.unauthorized, "missing bearer token: send `Authorization: Bearer <token>`")
        }
        var token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        if token.hasPrefix("K10") {
            // a whole join token: its hash part must name this cluster's CA
            let parsed = try JoinToken(parsing: token)
            if let pinned = parsed.caFingerprint, !caFingerprint.isEmpty, pinned != caFingerprint {
                throw KumoError(.unauthorized, "the token pins another cluster CA (\(ClusterTrust.display(pinned)))")
            }
            token = parsed.secret
        }
        let h = Self.hash(token)
        if constantTimeEqual(h, adminHash) { return .admin }
        let hexHash = Self.hex(h)
        let now = Timestamp.now()
        if let cached = cache.withLock({ $0[hexHash] }) {
            if let expires = cached.expires, expires < now {
                throw KumoError(
                    .unauthorized, "token \(cached.identity.name) expired at \(expires.rfc3339)", cause: Expired(at: expires.rfc3339))
            }
            noteUse(hexHash, now: now)
            return cached.identity
        }
        let kv: KeyValue?
        do {
            kv = try await store.get("/auth/tokens/" + hexHash)
        } catch {
            throw KumoError(.unavailable, "failed to check token: \(error)", cause: error)
        }
        guard let kv else { throw KumoError(.unauthorized, "unknown or revoked token") }
        let info: TokenInfo
        do {
            info = try decode(jsonBytes: kv.value, as: TokenInfo.self)
        } catch {
            // the token is known, its record is damaged: that is the server's fault, not the caller's (a 401 would
            // send an operator chasing the wrong token)
            logger.error("token record does not decode", metadata: ["record": "\(kv.key)", "error": "\(error)"])
            throw KumoError(.internal, "the record of this token is damaged (\(kv.key)); see the server log", cause: error)
        }
        let expires = info.expiresAt.flatMap(Timestamp.init(rfc3339:))
        if let expires, expires < now {
            throw KumoError(
                .unauthorized, "\(info.role == .join ? "join token" : "token") \(info.name) expired at \(info.expiresAt ?? "")",
                cause: Expired(at: info.expiresAt ?? ""))
        }
        let identity: Identity
        switch info.role {
        case .view, .edit:
            identity = Identity(name: info.identity, role: .project(info.project ?? "", info.role))
        case .node:
            identity = Identity(name: info.identity, role: .node(String(info.identity.dropFirst("node/".count))))
        case .join:
            identity = Identity(name: info.identity, role: .join)
        }
        cache.withLock { $0[hexHash] = (identity, expires) }
        noteUse(hexHash, now: now)
        return identity
    }

    /// Records that a token was accepted; its record's `lastUsedAt` is written at most once a minute per token
    /// (in the background: a request never waits for it).
    private func noteUse(_ hexHash: String, now: Timestamp) {
        let persist = lastUsed.withLock { map -> Bool in
            let previous = map[hexHash]?.persisted
            let due = previous.map { now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch >= 60_000 } ?? true
            map[hexHash] = (now, due ? now : previous)
            return due
        }
        guard persist else { return }
        let store = self.store
        Task {
            let key = "/auth/tokens/" + hexHash
            guard let kv = try? await store.get(key),
                var info = try? decode(jsonBytes: kv.value, as: TokenInfo.self)
            else { return }
            info.lastUsedAt = now.rfc3339
            // only if unchanged since read: a revoke in between wins
            _ = try? await store.commit(
                Txn(compares: [.modRevision(key, equals: kv.modRevision)], operations: [.put(key, encodeJSON(info))]))
        }
    }

    /// Creates a project token (view|edit) or a join token.
    public func create(_ request: TokenRequest, by creator: Identity) async throws(KumoError) -> TokenInfo {
        switch request.role {
        case .view, .edit:
            guard let project = request.project else {
                throw KumoError(.invalid, "project tokens need a project", field: "project")
            }
            if let problem = Names.validateDNSLabel(project) {
                throw KumoError(.invalid, "invalid project \"\(project)\": \(problem)", field: "project")
            }
            let name = request.name ?? "\(project)-\(request.role.rawValue)-\(Self.suffix())"
            var expires: String? = nil
            if let ttl = request.ttlSeconds {
                guard (60...(10 * 365 * 24 * 3600)).contains(ttl) else {
                    throw KumoError(.invalid, "ttlSeconds must be between 60 and ten years", field: "ttlSeconds")
                }
                expires = (Timestamp.now() + .seconds(ttl)).rfc3339
            }
            return try await save(
                TokenInfo(
                    name: name, project: project, role: request.role, identity: "token/\(name)",
                    createdAt: ObjectCodec.now(), createdBy: creator.name, expiresAt: expires),
                requireProject: project)
        case .join:
            if request.project != nil {
                throw KumoError(.invalid, "join tokens are not bound to a project", field: "project")
            }
            let ttl = request.ttlSeconds ?? 24 * 3600
            guard (60...(365 * 24 * 3600)).contains(ttl) else {
                throw KumoError(.invalid, "ttlSeconds must be between 60 and one year", field: "ttlSeconds")
            }
            let name = request.name ?? "join-\(Self.suffix())"
            let expires = (Timestamp.now() + .seconds(ttl)).rfc3339
            var info = try await save(
                TokenInfo(
                    name: name, project: nil, role: .join, identity: "join/\(name)", createdAt: ObjectCodec.now(),
                    createdBy: creator.name, expiresAt: expires),
                requireProject: nil)
            // the agent checks the server's CA against this hash before it sends the secret
            if !caFingerprint.isEmpty, let secret = info.token {
                info.token = JoinToken(caFingerprint: caFingerprint, secret: secret).text
            }
            return info
        case .node:
            throw KumoError(
                .invalid, "node tokens come from joining with a join token (POST /api/v1/join)", field: "role")
        }
    }

    /// A join token's exchange: the node token for `node` (replacing an earlier one of that node).
    public func join(_ request: JoinRequest, by joiner: Identity) async throws(KumoError) -> TokenInfo {
        guard case .join = joiner.role else {
            throw KumoError(.forbidden, "only a join token can join a node")
        }
        if let problem = Names.validateDNSLabel(request.node) {
            throw KumoError(.invalid, "invalid node name \"\(request.node)\": \(problem)", field: "node")
        }
        let name = "node-\(request.node)"
        do {
            try await delete(name: name)  // re-joining rotates the node's token
        } catch where error.code == .notFound {}
        logger.notice("node joined", metadata: ["node": "\(request.node)", "joinToken": "\(joiner.name)"])
        var info = try await save(
            TokenInfo(
                name: name, project: nil, role: .node, identity: "node/\(request.node)", createdAt: ObjectCodec.now(),
                createdBy: joiner.name),
            requireProject: nil)
        info.serverCredential = agentCredential
        return info
    }

    static func suffix() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 36) }

    /// Stores a new token record (hash only) and returns it with its secret.
    private func save(_ info: TokenInfo, requireProject project: String?) async throws(KumoError) -> TokenInfo {
        if let problem = Names.validateDNSLabel(info.name) {
            throw KumoError(.invalid, "invalid token name \"\(info.name)\": \(problem)", field: "name")
        }
        let token = Self.generate()
        let hexHash = Self.hex(Self.hash(token))
        let record = encodeJSON(info)
        var compares: [Compare] = [.absent(Self.namePrefix + info.name)]
        let projectKey = project.map { ObjectRef(.project, name: $0).storeKey }
        if let projectKey { compares.append(.exists(projectKey)) }
        do {
            _ = try await store.commit(
                Txn(
                    compares: compares,
                    operations: [
                        .put(Self.namePrefix + info.name, Array(hexHash.utf8)), .put("/auth/tokens/" + hexHash, record),
                    ]))
        } catch let e as KumoError where e.code == .conflict {
            if let projectKey, e.field == projectKey {
                throw KumoError(.notFound, "project \"\(project ?? "")\" not found", field: "project")
            }
            throw KumoError(.alreadyExists, "a token named \"\(info.name)\" already exists", field: "name")
        } catch {
            throw KumoError(.unavailable, "failed to store token: \(error)", cause: error)
        }
        logger.info("token created", metadata: ["token": "\(info.name)", "role": "\(info.role.rawValue)"])
        var shown = info
        shown.token = token
        return shown
    }

    public func list() async throws(KumoError) -> [TokenInfo] {
        do {
            let page = try await store.list(prefix: "/auth/tokens/", startAfter: nil, limit: nil)
            let used = lastUsed.withLock { $0 }
            return page.items.compactMap { kv -> TokenInfo? in
                guard var info = try? decode(jsonBytes: kv.value, as: TokenInfo.self) else { return nil }
                info.token = nil
                let hexHash = String(kv.key.dropFirst("/auth/tokens/".count))
                if let u = used[hexHash]?.used { info.lastUsedAt = u.rfc3339 }
                return info
            }
            .sorted { $0.name < $1.name }
        } catch {
            throw KumoError(.unavailable, "failed to list tokens: \(error)", cause: error)
        }
    }

    /// Revokes a token: the next request with it gets 401. Returns the revoked token's record.
    @discardableResult
    public func delete(name: String) async throws(KumoError) -> TokenInfo? {
        do {
            guard let index = try await store.get(Self.namePrefix + name) else {
                throw KumoError(.notFound, "token \"\(name)\" not found")
            }
            let hexHash = String(decoding: index.value, as: UTF8.self)
            let record = try await store.get("/auth/tokens/" + hexHash)
            _ = try await store.commit(
                Txn(compares: [], operations: [.delete(Self.namePrefix + name), .delete("/auth/tokens/" + hexHash)]))
            cache.withLock { _ = $0.removeValue(forKey: hexHash) }
            lastUsed.withLock { _ = $0.removeValue(forKey: hexHash) }
            logger.notice("token revoked", metadata: ["token": "\(name)"])
            return record.flatMap { try? decode(jsonBytes: $0.value, as: TokenInfo.self) }
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "failed to delete token: \(error)", cause: error)
        }
    }

    /// Forgets cached verifications (e.g. after a restore).
    public func clearCache() { cache.withLock { $0.removeAll() } }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// The cause of a 401 for a token past its expiry: what the audit log records as reason `expired` (a 401's
    /// message is for people; a token's name may contain any word).
    public struct Expired: Error, Sendable {
        public var at: String
    }

    /// Whether a 401 is a token's expiry.
    public static func isExpiry(_ error: KumoError) -> Bool { error.cause is Expired }
}
