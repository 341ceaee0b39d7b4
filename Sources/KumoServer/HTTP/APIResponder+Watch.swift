import Hummingbird
import KumoAPI
import KumoModel
import KumoStore
import NIOCore

extension APIResponder {
    /// `?watch=true[&since=REV]`: newline-delimited JSON events. Without `since`, the current objects come first
    /// as ADDED, then changes after the list's revision. With `since`, every change after REV is replayed, then
    /// live ones; a compacted REV → 410 before the stream starts; a watcher that falls too far behind gets an
    /// ERROR line (code `gone`) and the stream ends — re-list and watch again.
    ///
    /// A pump task reads the store's stream, filters and renders (shared per event across watchers) and hands
    /// lines to the HTTP writer; the registry can stop the pump on graceful shutdown.
    func watch(_ kind: Kind, project: String?, filter: ListFilter, since: Int64?, identity: Identity) async throws(
        KumoError
    ) -> Response {
        let prefix = StoreKeys.collectionPrefix(kind, project: project)
        var initial: [JSONValue] = []
        let start: Int64
        if let since {
            start = since
        } else {
            let page = try await core.resources.list(kind, project: project, filter: filter)
            initial = page.items
            start = page.revision
        }
        let stream: AsyncThrowingStream<WatchEvent, any Error>
        do {
            stream = try await core.store.watch(prefix: prefix, since: start)
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "failed to start watch: \(error)", cause: error)
        }
        let core = self.core
        let cache = core.watchCache
        let redact = !Authorizer.maySeeSecretValues(identity) && kind == .secret
        let responder = self
        let initialItems = initial
        let (lines, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(10_000))
        let pump = Task {
            func send(_ bytes: [UInt8]) -> Bool {
                if case .dropped = continuation.yield(ByteBuffer(bytes: bytes)) { return false }
                return true
            }
            for object in initialItems {
                let shown = redact ? responder.redacted(object, for: identity) : object
                _ = send(WatchRenderCache.line(type: "ADDED", object: shown))
            }
            do {
                for try await event in stream {
                    let rendered = try cache.render(event)
                    guard filter.matches(rendered.object) else { continue }
                    let line =
                        redact
                        ? WatchRenderCache.line(
                            type: rendered.type, object: responder.redacted(rendered.object, for: identity))
                        : rendered.line
                    guard send(line) else {
                        throw KumoError(.gone, "watch fell behind: the client reads too slowly; re-list and watch again")
                    }
                    core.metrics.watchEventsSent.increment()
                }
            } catch let e as KumoError {
                let error = JSONValue.object([
                    "type": "ERROR",
                    "object": .object(["error": .object(["code": .string(e.code.rawValue), "message": .string(e.message)])]),
                ])
                var line = error.serialized()
                line.append(UInt8(ascii: "\n"))
                continuation.yield(ByteBuffer(bytes: line))
            } catch {
                // cancelled: client gone or server shutting down
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in pump.cancel() }
        let id = core.watches.add { pump.cancel() }
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        let body = ResponseBody { writer in
            core.metrics.watcherOpened()
            defer {
                core.metrics.watcherClosed()
                core.watches.remove(id)
                pump.cancel()
            }
            for await line in lines {
                try await writer.write(line)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
