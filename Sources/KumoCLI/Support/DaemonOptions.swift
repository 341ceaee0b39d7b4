import ArgumentParser
import Logging

/// `--log-level` of the long-running commands (`kumo server`, `kumo agent`), and the logging they start with.
struct LogLevelOption: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Sends swift-log to stderr at this level and returns the daemon's logger.
    func bootstrap(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// `HOST:PORT` of a `--listen` option.
func parseListen(_ listen: String, ports: ClosedRange<Int>, example: String) throws -> (host: String, port: Int) {
    guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
        ports.contains(port)
    else { throw ValidationError("--listen must be HOST:PORT, e.g. \(example)") }
    return (String(listen[..<colon]), port)
}
