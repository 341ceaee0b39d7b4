import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update objects from YAML or JSON manifests (server-side apply).",
        discussion: """
            Each document is applied as your field manager: fields you applied before and leave out now are \
            removed; fields other managers own are kept, and changing one is refused unless --force. \
            Projects in the input are applied first.
            Examples: kumo apply -f web.yaml   kumo apply -f manifests/   cat x.yaml | kumo apply -f -
            """)

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project for documents that name none.")
    var project: String?

    @Option(name: [.short, .customLong("filename")], help: "File, directory (*.yaml, *.yml, *.json) or - for stdin.")
    var files: [String] = []

    @Flag(help: "Take ownership of fields other managers own.")
    var force = false

    @Option(help: "Field manager: a sub-name of your identity, like admin/ci.")
    var manager: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("pass at least one -f FILE|DIR|-") }
    }

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let api = KumoClient(config: config)
            var documents: [(JSONValue, String)] = []
            for f in files { documents += try ManifestReader.read(f) }
            documents.sort { rank($0.0) < rank($1.0) }
            var failures = 0
            for (doc, source) in documents {
                do throws(KumoError) {
                    let result = try await applyOne(doc, api: api, config: config)
                    printOut(result)
                } catch {
                    failures += 1
                    printErr("error: \(source): \(error.message)" + (error.field.map { " (field \($0))" } ?? ""))
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    func rank(_ doc: JSONValue) -> Int { doc["kind"]?.stringValue == "Project" ? 0 : 1 }

    func applyOne(_ doc: JSONValue, api: KumoClient, config: ClientConfig) async throws(KumoError) -> String {
        guard doc.objectValue != nil else { throw KumoError(.invalid, "a manifest must be a mapping") }
        guard let kindName = doc["kind"]?.stringValue else { throw KumoError(.invalid, "kind is required", field: "kind") }
        let kind = try ObjectArgument.kind(kindName)
        guard let name = doc["metadata"]?["name"]?.stringValue else {
            throw KumoError(.invalid, "metadata.name is required", field: "metadata.name")
        }
        var objectProject: String? = nil
        if kind.scope != .cluster {
            objectProject = doc["metadata"]?["project"]?.stringValue ?? project ?? config.project
            if objectProject == nil && kind.scope == .project {
                throw KumoError(
                    .invalid, "\(kindName) \(name) names no project: set metadata.project or pass -p", field: "metadata.project")
            }
        }
        var query: [(String, String)] = []
        if force { query.append(("force", "true")) }
        if let manager { query.append(("manager", manager)) }
        let response = try await api.send(
            .PATCH, APIPaths.object(kind, project: objectProject, name: name), query: query, body: doc.serialized(),
            contentType: applyPatchContentType)
        let result = response.headers.first(name: "Kumo-Result") ?? (response.status == 201 ? "created" : "configured")
        let where_ = objectProject.map { " (project \($0))" } ?? ""
        return "\(kind.rawValue.lowercased())/\(name) \(result)\(where_)"
    }
}
