import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `workload/NAME -p PROJECT` (or `workload NAME`, or `NAME`) and the client to reach it, shared by scale and rollout.
struct WorkloadTarget: ParsableArguments {
    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .customLong("project")], help: "Project.") var project: String?
    @Argument(help: ArgumentHelp("workload/NAME, workload NAME or just NAME.", valueName: "workload")) var target: [String]

    /// The API client and the workload's path; `command` names the command in errors ("scale", "rollout status").
    func resolve(command: String) throws(KumoError) -> (api: KumoClient, path: String, name: String) {
        let config = try client.config()
        let name = try ObjectArgument.name(target, of: .workload, command: command)
        let p = try requireProject(project ?? config.project)
        return (KumoClient(config: config), APIPaths.object(.workload, project: p, name: name), name)
    }
}
