import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `kumo logs` and `kumo console`: `KIND/NAME`, `KIND NAME` or `NAME` in a project, its text streamed to stdout through the
/// server from the node's agent — the last `tail` lines, then, with `follow`, what is appended.
struct AgentStream {
    let kind: Kind
    let path: (_ project: String, _ name: String) -> String

    /// The command's name, for errors ("logs", "console").
    let command: String

    func run(target: [String], follow: Bool, tail: Int?, client: ClientOptions, projects: ProjectOptions) async throws {
        let name = try ObjectArgument.name(target, of: kind, command: command)
        let config = try client.config()
        guard let project = try projects.resolve(kind, config: config) else {
            throw KumoError(.invalid, "\(kind.plural) live in a project: pass -p PROJECT", field: "project")
        }
        var query: [(String, String)] = []
        if let tail { query.append(("tail", String(tail))) }
        if follow { query.append(("follow", "true")) }
        try await client.client().stream(path(project, name), query: query) { chunk in
            FileHandle.standardOutput.write(Data(chunk))
        }
    }
}
