import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `workload/NAME -p PROJECT` and the client to reach it, shared by scale and rollout.
struct WorkloadTarget: ParsableArguments {
    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project.") var project: String?
    @Argument(help: "workload/NAME") var target: String

    /// The API client and the workload's path.
    func resolve() throws(KumoError) -> (api: KumoClient, path: String, name: String) {
        let config = try client.config()
        let (kind, name) = try parseKindSlashName(target)
        guard kind == .workload else { throw KumoError(.invalid, "expected workload/NAME, got \(target)") }
        let p = try requireProject(project ?? config.project)
        return (KumoClient(config: config), APIPaths.object(.workload, project: p, name: name), name)
    }
}
