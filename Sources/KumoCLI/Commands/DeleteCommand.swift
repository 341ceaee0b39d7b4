import ArgumentParser
import KumoAPI
import KumoModel

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete objects by kind and name, or those in manifests.",
        usage: """
            kumo delete KIND NAME... [options]
            kumo delete KIND/NAME... [options]
            kumo delete -f FILE... [options]
            """,
        discussion: """
            Kinds: \(ObjectArgument.kindNames).
            Examples: kumo delete workload web -p shop   kumo delete wl/web svc/web -p shop   kumo delete project shop --cascade
                      kumo delete -f web.yaml
            """)

    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project of project-scoped objects.")
    var project: String?

    @Argument(help: "A kind and names, or objects as KIND/NAME.")
    var objects: [String] = []

    @Option(name: [.short, .customLong("filename")], help: "Delete the objects described in these manifests.")
    var files: [String] = []

    @Flag(help: "Delete a project together with everything in it.")
    var cascade = false

    func validate() throws {
        if objects.isEmpty && files.isEmpty { throw ValidationError("pass KIND NAME..., KIND/NAME... or -f FILE") }
    }

    func run() async throws {
        try await runReporting {
            var refs: [ObjectArgument] = []
            if !objects.isEmpty {
                guard case .objects(let named) = try ObjectArgument.parse(objects) else {
                    // A bare kind would mean "all of them" to get; delete never does that.
                    throw KumoError(.invalid, "name what to delete: KIND NAME... or KIND/NAME...")
                }
                refs = named
            }
            let config = try client.config()
            let api = KumoClient(config: config)
            var targets: [(Kind, String, String?)] = []
            for ref in refs {
                targets.append((ref.kind, ref.name, ref.kind.scope == .cluster ? nil : project ?? config.project))
            }
            for f in files {
                for (doc, _) in try ManifestReader.read(f) {
                    let k = try ObjectArgument.kind(doc["kind"]?.stringValue ?? "")
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
