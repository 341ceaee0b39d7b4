import ArgumentParser
import KumoAPI
import KumoModel

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete objects by kind and name, or those in manifests.",
        discussion: "Examples: kumo delete workload web -p shop   kumo delete project shop --cascade   kumo delete -f web.yaml")

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project of project-scoped objects.")
    var project: String?

    @Argument(help: "Kind (or KIND/NAME).")
    var kind: String?

    @Argument(help: "Names.")
    var names: [String] = []

    @Option(name: [.short, .customLong("filename")], help: "Delete the objects described in these manifests.")
    var files: [String] = []

    @Flag(help: "Delete a project together with everything in it.")
    var cascade = false

    func validate() throws {
        if kind == nil && files.isEmpty { throw ValidationError("pass KIND NAME... or -f FILE") }
    }

    func run() async throws {
        try await runReporting {
            let config = try client.config()
            let api = KumoClient(config: config)
            var targets: [(Kind, String, String?)] = []
            if let kind {
                if names.isEmpty {
                    let (k, n) = try parseKindSlashName(kind)
                    targets.append((k, n, k.scope == .cluster ? nil : project ?? config.project))
                } else {
                    let k = try parseKind(kind)
                    for n in names { targets.append((k, n, k.scope == .cluster ? nil : project ?? config.project)) }
                }
            }
            for f in files {
                for (doc, _) in try ManifestReader.read(f) {
                    let k = try parseKind(doc["kind"]?.stringValue ?? "")
                    let n = doc["metadata"]?["name"]?.stringValue ?? ""
                    let p = k.scope == .cluster ? nil : doc["metadata"]?["project"]?.stringValue ?? project ?? config.project
                    targets.append((k, n, p))
                }
            }
            var failed = false
            for (k, n, p) in targets.reversed() {
                if k.scope == .project && p == nil {
                    printErr("error: \(k.rawValue.lowercased())/\(n): pass -p PROJECT")
                    failed = true
                    continue
                }
                do throws(KumoError) {
                    try await api.send(
                        .DELETE, APIPaths.object(k, project: p, name: n), query: cascade ? [("cascade", "true")] : [])
                    printOut("\(k.rawValue.lowercased())/\(n) deleted" + (p.map { " (project \($0))" } ?? ""))
                } catch {
                    printErr("error: \(k.rawValue.lowercased())/\(n): \(error.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
