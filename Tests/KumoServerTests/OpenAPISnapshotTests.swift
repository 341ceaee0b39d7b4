import Foundation
import KumoModel
import Testing

@testable import KumoServer

/// `openapi.json` next to this file is what the generated client (swift-openapi-generator's build plugin, see
/// `openapi-generator-config.yaml`) is compiled from; it must be the document the server serves.
@Suite("OpenAPI: the committed document the typed client is generated from")
struct OpenAPISnapshotTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("openapi.json").path

    @Test("Tests/KumoServerTests/openapi.json is the served document (KUMO_UPDATE_OPENAPI=1 rewrites it)")
    func snapshotIsCurrent() throws {
        var served = OpenAPIDocument.document()
        // the version changes with every release and says nothing about the API's shape
        served["info"]?["version"] = "snapshot"
        let text = served.prettyString + "\n"
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_OPENAPI"] == "1" {
            try Data(text.utf8).write(to: URL(fileURLWithPath: Self.path))
        }
        let committed = try String(contentsOfFile: Self.path, encoding: .utf8)
        #expect(
            committed == text,
            "the API changed: run KUMO_UPDATE_OPENAPI=1 with --filter OpenAPISnapshotTests and commit Tests/KumoServerTests/openapi.json")
    }
}
