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
    let logger: Logger
    /// Verified project tokens by hash; cleared for a token on delete (this server is the only writer).
    private let cache = Mutex<[String: Identity]>([:])

    static let namePrefix = "/auth/token-names/"

    /// Loads the admin token from `adminTokenPath`, creating it (0600) if missing.
    public init(store: any Store, adminTokenPath: String, logger: Logger) throws(KumoError) {
        self.store = store
        self.logger = logger
        let token: String
        if let data = FileManager.default.contents(atPath: adminTokenPath),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            token = text
        } else {
            token = Self.generate()
            try SecureFile.write(Data((token + "\n").utf8), to: adminTokenPath)
            logger.notice("created admin token", metadata: ["path": "\(adminTokenPath)"])
        }
        self.adminHash = Self.hash(token)
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
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        let h = Self.hash(token)
        if constantTimeEqual(h, adminHash) { return .admin }
        let hexHash = Self.hex(h)
        if let cached = cache.withLock({ $0[hexHash] }) { return cached }
        let kv: KeyValue?
        do {
            kv = try await store.get("/auth/tokens/" + hexHash)
        } catch {
            throw KumoError(.unavailable, "failed to check token: \(error)", cause: error)
        }
        guard let kv, let info = try? JSONDecoder().decode(TokenInfo.self, from: Data(kv.value)) else {
            throw KumoError(.unauthorized, "unknown or revoked token")
        }
        let identity = Identity(name: info.identity, role: .project(info.project, info.role))
        cache.withLock { $0[hexHash] = identity }
        return identity
    }

    public func create(_ request: TokenRequest, by creator: Identity) async throws(KumoError) -> TokenInfo {
        let name = request.name ?? "\(request.project)-\(request.role.rawValue)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        if let problem = Names.validateDNSLabel(name) {
            throw KumoError(.invalid, "invalid token name \"\(name)\": \(problem)", field: "name")
        }
        if let problem = Names.validateDNSLabel(request.project) {
            throw KumoError(.invalid, "invalid project \"\(request.project)\": \(problem)", field: "project")
        }
        let token = Self.generate()
        let hexHash = Self.hex(Self.hash(token))
        let info = TokenInfo(
            name: name, project: request.project, role: request.role, identity: "token/\(name)",
            createdAt: ObjectCodec.now(), createdBy: creator.name)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let record: [UInt8]
        do { record = Array(try encoder.encode(info)) } catch {
            throw KumoError(.internal, "failed to encode token: \(error)", cause: error)
        }
        let projectKey = ObjectRef(.project, name: request.project).storeKey
        do {
            _ = try await store.commit(
                Txn(
                    compares: [.absent(Self.namePrefix + name), .exists(projectKey)],
                    operations: [.put(Self.namePrefix + name, Array(hexHash.utf8)), .put("/auth/tokens/" + hexHash, record)]))
        } catch let e as KumoError where e.code == .conflict {
            if e.field == projectKey {
                throw KumoError(.notFound, "project \"\(request.project)\" not found", field: "project")
            }
            throw KumoError(.alreadyExists, "a token named \"\(name)\" already exists", field: "name")
        } catch {
            throw KumoError(.unavailable, "failed to store token: \(error)", cause: error)
        }
        logger.info("token created", metadata: ["token": "\(name)", "project": "\(request.project)", "role": "\(request.role.rawValue)"])
        var shown = info
        shown.token = token
        return shown
    }

    public func list() async throws(KumoError) -> [TokenInfo] {
        do {
            let page = try await store.list(prefix: "/auth/tokens/", startAfter: nil, limit: nil)
            return page.items.compactMap { try? JSONDecoder().decode(TokenInfo.self, from: Data($0.value)) }
                .sorted { $0.name < $1.name }
        } catch {
            throw KumoError(.unavailable, "failed to list tokens: \(error)", cause: error)
        }
    }

    public func delete(name: String) async throws(KumoError) {
        do {
            guard let index = try await store.get(Self.namePrefix + name) else {
                throw KumoError(.notFound, "token \"\(name)\" not found")
            }
            let hexHash = String(decoding: index.value, as: UTF8.self)
            _ = try await store.commit(
                Txn(compares: [], operations: [.delete(Self.namePrefix + name), .delete("/auth/tokens/" + hexHash)]))
            cache.withLock { _ = $0.removeValue(forKey: hexHash) }
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
}
