import Foundation

/// Runs blocking work on a thread of its own, inside a named network namespace (`/run/netns/<name>`; nil: the
/// agent's own). `setns` changes only the calling thread's namespace, and that thread ends with the work, so
/// nothing else of the agent moves. A socket opened there stays in that namespace.
enum NetnsThread {
    static func run<T: Sendable>(
        netns: String?, name: String, _ body: @escaping @Sendable () -> Result<T, HealthProbeError>
    ) async -> Result<T, HealthProbeError> {
        await withCheckedContinuation { cont in
            let thread = Thread {
                if let netns, let error = enter(netns) {
                    cont.resume(returning: .failure(error))
                    return
                }
                cont.resume(returning: body())
            }
            thread.name = name
            thread.start()
        }
    }

    /// Moves the calling thread into `/run/netns/<netns>`; the error, or nil.
    private static func enter(_ netns: String) -> HealthProbeError? {
        let path = "/run/netns/\(netns)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return HealthProbeError("failed to open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
            return HealthProbeError("setns is not available")
        }
        let setns = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        guard setns(fd, 0x4000_0000) == 0 else {  // CLONE_NEWNET
            return HealthProbeError("failed to enter \(path): \(String(cString: strerror(errno)))")
        }
        return nil
    }
}

/// Why a health measurement failed, in words for the report.
struct HealthProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A measurement with a deadline: the result, or nil when `timeout` passed first. The work is not waited for
/// past the deadline (blocking work on another thread cannot be interrupted; it ends by its own timeouts).
enum Deadline {
    static func run<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async -> T) async -> T? {
        let once = OnceBox<T?>()
        return await withCheckedContinuation { (cont: CheckedContinuation<T?, Never>) in
            once.set(cont)
            let worker = Task { once.resume(await work()) }
            Task {
                try? await Task.sleep(for: timeout)
                once.resume(nil)
                worker.cancel()
            }
        }
    }
}

/// Resumes a continuation exactly once, whoever comes first.
private final class OnceBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<T, Never>?
    private var early: T?
    private var done = false

    func set(_ c: CheckedContinuation<T, Never>) {
        lock.lock()
        if done, let value = early {
            lock.unlock()
            c.resume(returning: value)
            return
        }
        cont = c
        lock.unlock()
    }

    func resume(_ value: T) {
        lock.lock()
        guard !done else {
            lock.unlock()
            return
        }
        done = true
        if let c = cont {
            cont = nil
            lock.unlock()
            c.resume(returning: value)
        } else {
            early = value
            lock.unlock()
        }
    }
}
