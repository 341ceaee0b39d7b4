import Hummingbird
import KumoAPI
import KumoModel
import KumoStore
import NIOCore

extension APIHandlers {
    /// `?watch=true[&since=REV]`: newline-delimited JSON events. Without `since`, the current objects come first
    /// as ADDED, then changes after the list's revision. With `since`, every change after REV is replayed, then
    /// live ones; a compacted REV → 410 before the stream starts; a watcher that falls too far behind gets an
    /// ERROR line (code `gone`) and the stream ends — re-list and watch again.
    ///
    /// The response body reads the store's stream itself; events are rendered once for all watchers
    /// (`WatchRenderCache`) and the shared buffer is written. Graceful shutdown cancels the reading task.
    ///
    /// A node token's watch of secrets carries only the secrets its node's replicas and instances reference
    /// (the broadcaster judges each event by the bindings at its revision). Only the broadcaster can do that,
    /// so a `since` it no longer holds is a 410 for such a watch: list again and watch from the list's revision.
    func watch(_ kind: Kind, project: String?, filter: ListFilter, since: Int64?, identity: Identity) async throws(
        KumoError
    ) -> Response {
        let prefix = StoreKeys.collectionPrefix(kind, project: project)
        var initial: [JSONValue] = []
        let start: Int64
        if let since {
            start = since
            // etcd semantics: history at or below the compacted revision is gone, even if a cache still has it
            let compacted: Int64
            do {
                compacted = try await core.store.status().compactedRevision
            } catch {
                throw KumoError(.unavailable, "failed to start watch: \(error)", cause: error)
            }
            if since < compacted {
                throw KumoError(
                    .gone, "revision \(since) has been compacted (history kept from \(compacted)); list again and watch from its revision",
                    field: "since")
            }
        } else {
            let page = try await list(kind, project: project, filter: filter, identity: identity)
            initial = try await visibleToNode(page.items, kind: kind, identity: identity)
            start = page.revision
        }
        let secretsOf = kind == .secret ? Authorizer.node(of: identity) : nil
        if let fast = try await broadcast(
            prefix: prefix, filter: filter, since: start, initial: initial, kind: kind, identity: identity,
            secretsOf: secretsOf)
        {
            return fast
        }
        if let node = secretsOf {
            throw KumoError(
                .gone, "the server cannot serve node \(node)'s secret watch from revision \(start) (not in its recent "
                    + "history, or still starting); list again and watch from its revision", field: "since")
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
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        let body = ResponseBody { writer in
            let handle = withUnsafeCurrentTask { WatchTaskHandle($0) }
            let id = core.watches.add(owner: identity.name) { _ in handle.cancel() }
            core.metrics.watcherOpened()
            defer {
                handle.finish()
                core.watches.remove(id)
                core.metrics.watcherClosed()
            }
            do {
                for object in initialItems {
                    let shown = redact ? responder.redacted(object, for: identity) : object
                    try await writer.write(ByteBuffer(bytes: WatchRenderCache.line(type: "ADDED", object: shown)))
                }
                for try await event in stream {
                    let rendered = try cache.render(event)
                    guard filter.matches(rendered.object) else { continue }
                    if redact {
                        let shown = responder.redacted(rendered.object, for: identity)
                        try await writer.write(ByteBuffer(bytes: WatchRenderCache.line(type: rendered.type, object: shown)))
                    } else {
                        try await writer.write(rendered.line)
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
                try? await writer.write(ByteBuffer(bytes: line))
            } catch {
                // cancelled (shutdown) or the client went away
                handle.finish()
                try? await writer.finish(nil)
                return
            }
            handle.finish()
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The common case: served by the broadcaster (recent `since`), several events per write under load.
    func broadcast(
        prefix: String, filter: ListFilter, since: Int64, initial: [JSONValue], kind: Kind, identity: Identity,
        secretsOf: String? = nil
    ) async throws(KumoError) -> Response? {
        let redact = !Authorizer.maySeeSecretValues(identity) && kind == .secret
        let responder = self
        var redactor: (@Sendable (JSONValue, String) -> ByteBuffer)? = nil
        if redact {
            redactor = { @Sendable object, type in
                ByteBuffer(bytes: WatchRenderCache.line(type: type, object: responder.redacted(object, for: identity)))
            }
        }
        guard
            let subscription = core.broadcaster.subscribe(
                prefix: prefix, filter: filter, since: since, redact: redactor,
                immediate: Authorizer.node(of: identity) != nil, secretsOf: secretsOf)
        else { return nil }
        let core = self.core
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        let body = ResponseBody { writer in
            core.metrics.watcherOpened()
            let id = core.watches.add(owner: identity.name) { reason in subscription.close(error: reason) }
            defer {
                core.watches.remove(id)
                subscription.cancel()
                core.metrics.watcherClosed()
            }
            for object in initial {
                let shown = redact ? responder.redacted(object, for: identity) : object
                try await writer.write(ByteBuffer(bytes: WatchRenderCache.line(type: "ADDED", object: shown)))
            }
            while let chunk = await subscription.next() {
                try await writer.write(chunk)
                core.metrics.watchWrites.increment()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
