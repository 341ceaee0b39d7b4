import KumoModel
import Synchronization

/// One watch stream's producer: replays the log page by page at the consumer's pace, then switches to the
/// watcher's live buffer without a gap or a duplicate.
///
/// Switching: once a replay page comes back short (caught up), the watcher goes live (starts buffering fanned-out
/// events) and the log is read once more from the last replayed revision; any commit fanned out after the switch
/// is buffered, any commit before it is in that read. Live events at or below the last replayed revision are
/// then skipped. Replay is pulled by the consumer, so a long history never counts as "falling behind".
final class WatchCursor: Sendable {
    private enum Phase {
        /// Delivering `page[index...]`; `caughtUp`: the last page read was short.
        case replay(page: [WatchEvent], index: Int, caughtUp: Bool)
        case live(skipThrough: Int64)
        case finished
    }

    private struct State {
        var phase: Phase
        /// The last revision read from the log (or `since`).
        var lastRevision: Int64
        var isLive = false
    }

    private enum Step {
        case emit(WatchEvent)
        case fetch(after: Int64)
        case goLive
        case live(skipThrough: Int64)
        case done
    }

    private let reader: LogReader
    private let watcher: Watcher
    private let hub: WatchHub
    private let state: Mutex<State>

    /// `first` is the first replay page, already read by `watch` (which throws `.gone` from it).
    init(reader: LogReader, watcher: Watcher, hub: WatchHub, since: Int64, first: LogReader.Page) {
        self.reader = reader
        self.watcher = watcher
        self.hub = hub
        let last = first.events.last?.revision ?? since
        state = Mutex(State(phase: .replay(page: first.events, index: 0, caughtUp: !first.full), lastRevision: last))
    }

    deinit {
        watcher.end()
        hub.remove(watcher.id)
    }

    /// The next event, nil at the end of the stream; throws `.gone` / `.unavailable`.
    func next() async throws -> WatchEvent? {
        while true {
            let step = state.withLock { state -> Step in
                switch state.phase {
                case .finished:
                    return .done
                case .live(let skip):
                    return .live(skipThrough: skip)
                case .replay(let page, let index, let caughtUp):
                    if index < page.count {
                        state.phase = .replay(page: page, index: index + 1, caughtUp: caughtUp)
                        return .emit(page[index])
                    }
                    if !caughtUp { return .fetch(after: state.lastRevision) }
                    if !state.isLive { return .goLive }
                    state.phase = .live(skipThrough: state.lastRevision)
                    return .live(skipThrough: state.lastRevision)
                }
            }
            switch step {
            case .emit(let event):
                return event
            case .done:
                return nil
            case .goLive:
                watcher.goLive()
                state.withLock { state in
                    state.isLive = true
                    state.phase = .replay(page: [], index: 0, caughtUp: false)
                }
            case .fetch(let after):
                let page: LogReader.Page
                do {
                    page = try await reader.page(after: after)
                } catch is CancellationError {
                    finish()
                    return nil
                } catch {
                    finish()
                    throw Self.storeError(error)
                }
                state.withLock { state in
                    if case .finished = state.phase { return }
                    state.phase = .replay(page: page.events, index: 0, caughtUp: !page.full)
                    if let last = page.events.last { state.lastRevision = last.revision }
                }
            case .live(let skip):
                let event: WatchEvent?
                do {
                    event = try await watcher.next()
                } catch {
                    finish()
                    throw error
                }
                guard let event else {
                    finish()
                    return nil
                }
                if event.revision <= skip { continue }
                return event
            }
        }
    }

    private func finish() {
        state.withLock { $0.phase = .finished }
        watcher.end()
        hub.remove(watcher.id)
    }

    static func storeError(_ error: any Error) -> KumoError {
        if let error = error as? KumoError { return error }
        return KumoError(.unavailable, "failed to watch: \(error)", cause: error)
    }
}
