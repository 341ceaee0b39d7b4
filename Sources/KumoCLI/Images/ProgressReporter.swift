import Foundation
import Synchronization

/// Upload progress on stderr: a redrawn bar when stderr is a terminal, one line per blob otherwise (logs, CI).
/// Called from the HTTP client's threads, so its state is behind a lock.
final class ProgressReporter: Sendable {
    let interactive: Bool
    let quiet: Bool
    private let state = Mutex<(label: String, total: Int64, lastDraw: ContinuousClock.Instant?)>(("", 0, nil))

    init(interactive: Bool = isatty(STDERR_FILENO) == 1, quiet: Bool = false) {
        self.interactive = interactive
        self.quiet = quiet
    }

    func begin(_ label: String, total: Int64) {
        state.withLock { $0 = (label, total, nil) }
        if !interactive { line("uploading \(label) (\(Self.human(total)))") }
    }

    func update(_ done: Int64) {
        guard interactive, !quiet else { return }
        let (label, total, drawn) = state.withLock { s in
            let now = ContinuousClock.now
            let due = s.lastDraw.map { now - $0 > .milliseconds(100) } ?? true
            if due || done >= s.total { s.lastDraw = now }
            return (s.label, s.total, due || done >= s.total)
        }
        guard drawn else { return }
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let text = "\r\(bar) \(String(format: "%3d", Int(fraction * 100)))% \(Self.human(done))/\(Self.human(total)) \(label)"
        FileHandle.standardError.write(Data((text + "\u{1B}[K").utf8))
    }

    func end(_ message: String) {
        if interactive && !quiet { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        line(message)
    }

    func line(_ s: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    static func human(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
