import Foundation
import HTTPTypes
import Hummingbird
import KumoAPI
import KumoModel
import Logging
import NIOCore

/// The agent's own HTTPS endpoint, reached by the API server's proxy (`kumo logs`, `kumo state agent/<node>`).
/// TLS (`AgentTLS`) admits only clients with a certificate from the cluster CA; then `/healthz` answers any of
/// them, and `/metrics`, `/debug/state` and `/logs/{project}/{replica}` only the server's credential (handed to the
/// agent when it joined).
struct AgentEndpoint: HTTPResponder {
    typealias Context = BasicRequestContext
    let agent: NodeAgent

    func respond(to request: Request, context: Context) async throws -> Response {
        do {
            return try await handle(request)
        } catch {
            return Self.error(error)
        }
    }

    func handle(_ request: Request) async throws(KumoError) -> Response {
        let path = request.uri.path
        if path == "/healthz" { return Self.text("ok\n") }
        try authorize(request)
        guard request.method == .get else { throw KumoError(.methodNotAllowed, "only GET is served here") }
        let segments = path.split(separator: "/").map(String.init)
        switch segments.first {
        case "metrics":
            return Self.text(await agent.renderMetrics(), contentType: "text/plain; version=0.0.4")
        case "debug" where segments.count == 2 && segments[1] == "state":
            return Self.json(await agent.state())
        case "debug" where segments.count == 2 && segments[1] == "lb":
            return Self.json(await agent.loadBalancer?.stateDump() ?? .null)
        case "logs" where segments.count == 3:
            let params = request.uri.queryParameters
            let tail = params["tail"].flatMap { Int(String($0)) }
            let follow = params["follow"].map { ["true", "1", ""].contains(String($0)) } ?? false
            return try logs(project: segments[1].removingPercentEncoding ?? segments[1], name: segments[2].removingPercentEncoding ?? segments[2], tail: tail, follow: follow)
        case "console" where segments.count == 3:
            let params = request.uri.queryParameters
            let tail = params["tail"].flatMap { Int(String($0)) }
            let follow = params["follow"].map { ["true", "1", ""].contains(String($0)) } ?? false
            return try await console(
                project: segments[1].removingPercentEncoding ?? segments[1], name: segments[2].removingPercentEncoding ?? segments[2],
                tail: tail, follow: follow)
        default:
            throw KumoError(.notFound, "no route for \(path)")
        }
    }

    func authorize(_ request: Request) throws(KumoError) {
        guard let expected = agent.serverCredential else {
            throw KumoError(.forbidden, "this agent has no server credential (it joined without one): only /healthz is served")
        }
        let header = request.headers[.authorization] ?? ""
        guard header.lowercased().hasPrefix("bearer "), constantTimeEqual(String(header.dropFirst(7)), expected) else {
            throw KumoError(.unauthorized, "the agent answers only the API server")
        }
    }

    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    func logs(project: String, name: String, tail: Int?, follow: Bool) throws(KumoError) -> Response {
        guard let runner = agent.supervisor?.runner(project: project, name: name) else {
            throw KumoError(.notFound, "replica \(project)/\(name) is not running on node \(agent.config.nodeName)")
        }
        return Self.tailing(agent.driver.logPath(runner.uid), tail: tail, follow: follow) { runner.state == .removed }
    }

    /// An instance's serial console log (`kumo console`), like `logs`: the last lines, then what is appended.
    func console(project: String, name: String, tail: Int?, follow: Bool) async throws(KumoError) -> Response {
        guard let runner = await agent.instances?.runner(project: project, name: name) else {
            throw KumoError(.notFound, "instance \(project)/\(name) is not on node \(agent.config.nodeName)")
        }
        return Self.tailing(await runner.consolePath, tail: tail, follow: follow) { await runner.state == .removed }
    }

    /// A text file's last `tail` lines, then — with `follow` — what is appended, until `gone` says its owner is.
    static func tailing(
        _ path: String, tail: Int?, follow: Bool, gone: @escaping @Sendable () async -> Bool
    ) -> Response {
        let start = ContainerLogReader.startOffset(path: path, tailLines: tail)
        let body = ResponseBody { writer in
            var offset = start
            while true {
                let (chunk, next) = ContainerLogReader.read(path: path, from: offset)
                if !chunk.isEmpty { try await writer.write(ByteBuffer(bytes: chunk)) }
                offset = next
                if !follow { break }
                if await gone() { break }
                if chunk.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: body)
    }

    static func text(_ s: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    static func error(_ error: KumoError) -> Response {
        let body: JSONValue = [
            "error": [
                "code": .string(error.code.rawValue), "message": .string(error.message),
                "field": error.field.map { .string($0) } ?? .null,
            ]
        ]
        return json(body, status: HTTPResponse.Status(code: error.code.httpStatus))
    }
}

/// Reads container log files for `kumo logs`: the last N lines, then (following) what is appended. A file that
/// shrank was rotated (copied and truncated): reading starts again at its beginning.
enum ContainerLogReader {
    static func startOffset(path: String, tailLines: Int?) -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        guard let tailLines else { return 0 }
        let window = min(size, 4 << 20)
        try? handle.seek(toOffset: size - window)
        let data = Array((try? handle.readToEnd()) ?? Data())
        var newlines = 0
        var i = data.count - 1
        if i >= 0, data[i] == UInt8(ascii: "\n") { i -= 1 }
        while i >= 0 {
            if data[i] == UInt8(ascii: "\n") {
                newlines += 1
                if newlines == tailLines { return size - window + UInt64(i + 1) }
            }
            i -= 1
        }
        return size - window
    }

    static func read(path: String, from offset: UInt64, max: Int = 1 << 20) -> ([UInt8], UInt64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], offset) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        var from = offset
        if size < offset { from = 0 }  // rotated
        guard size > from else { return ([], from) }
        try? handle.seek(toOffset: from)
        let data = (try? handle.read(upToCount: max)) ?? Data()
        return (Array(data), from + UInt64(data.count))
    }
}
