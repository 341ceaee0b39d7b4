import Foundation

/// A fresh path in the system's temporary directory, `kumo-LABEL-XXXXXXXX` (8 random hex digits); nothing is
/// created there.
public func temporaryPath(_ label: String) -> String {
    NSTemporaryDirectory() + "kumo-\(label)-\(UUID().uuidString.prefix(8))"
}

/// Runs `body` with a new, empty temporary directory (`temporaryPath(label)`) and removes it afterwards.
public func withTemporaryDirectory<T>(_ label: String = "test", _ body: (String) async throws -> T) async throws -> T {
    let directory = temporaryPath(label)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}
