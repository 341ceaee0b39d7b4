import Foundation
import Hummingbird
import KumoModel
import NIOCore

extension APIResponder {
    /// `GET /api/v1/backup`: an online, consistent copy of the store (SQLite online backup) taken while writes
    /// continue, streamed as the body. Restore with `kumo server --restore FILE --data-dir DIR`.
    func backup() async throws(KumoError) -> Response {
        let path = core.config.dataDir + "/backup-\(UUID().uuidString).db.tmp"
        do {
            try await core.store.backup(to: path)
        } catch {
            unlink(path)
            throw KumoError(.internal, "failed to take backup: \(error)", cause: error)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            unlink(path)
            throw KumoError(.internal, "failed to read backup file \(path)")
        }
        unlink(path)
        var headers = HTTPFields()
        headers[.contentType] = "application/vnd.sqlite3"
        headers[.contentDisposition] = "attachment; filename=\"kumo-backup.db\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
