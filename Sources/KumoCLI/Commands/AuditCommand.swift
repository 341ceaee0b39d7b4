import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Refused requests (admin): authentication failures, authorization denials, rate limiting.",
        discussion: "Newest first. Example: kumo audit --reason forbidden --limit 20")
    @OptionGroup var client: ClientOptions
    @Option(help: "Only this reason: unauthenticated, expired, forbidden, rateLimited.") var reason: String?
    @Option(help: "Only requests from this source address.") var source: String?
    @Option(help: "Newest N records.") var limit: Int = 100
    @Option(name: .shortAndLong, help: "table or json.") var output: String = "table"

    func run() async throws {
        try await runReporting {
            var query: [(String, String)] = [("limit", String(limit))]
            if let reason { query.append(("reason", reason)) }
            if let source { query.append(("source", source)) }
            let answer = try await client.client().send(.GET, "/api/v1/audit", query: query).json()
            if output == "json" {
                printOut(answer.prettyString)
                return
            }
            var t = Table(headers: ["TIME", "REASON", "WHO", "FROM", "REQUEST", "MESSAGE"])
            t.rows = (answer["items"]?.arrayValue ?? []).map {
                [
                    $0["time"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "", $0["who"]?.stringValue ?? "",
                    $0["source"]?.stringValue ?? "",
                    "\($0["method"]?.stringValue ?? "") \($0["path"]?.stringValue ?? "")",
                    String(($0["message"]?.stringValue ?? "").prefix(80)),
                ]
            }
            printOut(t.render())
        }
    }
}
