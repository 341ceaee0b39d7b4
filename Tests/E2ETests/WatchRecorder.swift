import Foundation
import KumoAPI
import KumoModel

/// Records every object a watch stream (`path?watch=true`) delivers, from its opening on: the current objects first,
/// then every change. A test reasons about the order of changes by their store revision (`resourceVersion`, global
/// across kinds), so however slowly it polls — a loaded CI machine — it cannot miss a short-lived state.
final class WatchRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [JSONValue] = []
    private var buffer: [UInt8] = []
    private var task: Task<Void, Never>?

    init(_ client: KumoClient, _ path: String) {
        let sink = Sink()
        sink.recorder = self
        task = Task {
            try? await client.stream(path, query: [("watch", "true")]) { chunk in sink.recorder?.take(chunk) }
        }
    }

    private func take(_ chunk: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        buffer += chunk
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(buffer[..<newline])
            buffer.removeSubrange(...newline)
            if let event = try? JSONValue(parsing: line), let object = event["object"] { objects.append(object) }
        }
    }

    /// Everything recorded so far, in the order it arrived (the stream's revision order).
    var recorded: [JSONValue] {
        lock.lock()
        defer { lock.unlock() }
        return objects
    }

    func stop() { task?.cancel() }

    /// Lets the stream's closure reach the recorder without capturing `self` before init ends (and weakly).
    private final class Sink: @unchecked Sendable {
        weak var recorder: WatchRecorder?
    }

    static func revision(_ object: JSONValue) -> Int { Int(object["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0 }
}
