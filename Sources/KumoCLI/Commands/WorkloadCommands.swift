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

struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Set a workload's number of replicas.",
        discussion: "Example: kumo scale workload/web --replicas 5 -p shop")
    @OptionGroup var workload: WorkloadTarget
    @Option(help: "Desired replicas.") var replicas: Int

    func validate() throws {
        guard (0...10_000).contains(replicas) else { throw ValidationError("--replicas must be between 0 and 10000") }
    }

    func run() async throws {
        try await runReporting {
            let (api, path, name) = try workload.resolve()
            _ = try await api.send(
                .PATCH, path,
                body: JSONValue.object(["spec": ["replicas": .number(Double(replicas))]]).serialized(),
                contentType: mergePatchContentType)
            printOut("workload/\(name) scaled to \(replicas)")
        }
    }
}

struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Follow or undo a workload's rollout.", subcommands: [Status.self, Undo.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show where a rollout stands (--watch: until it ends).")
        @OptionGroup var workload: WorkloadTarget
        @Flag(name: [.short, .customLong("watch")], help: "Keep printing until the rollout completes or fails.") var watch = false

        func run() async throws {
            try await runReporting {
                let (api, path, _) = try workload.resolve()
                var last = ""
                while true {
                    let w = try await api.send(.GET, path).json()
                    let (done, failed, line) = Self.describe(w)
                    if line != last { printOut(line) }
                    last = line
                    if !watch || done { return }
                    if failed { throw ExitCode(1) }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }

        static func describe(_ w: JSONValue) -> (done: Bool, failed: Bool, line: String) {
            let want = Int(w["spec"]?["replicas"]?.numberValue ?? 0)
            let status = w["status"]
            let updated = Int(status?["updatedReplicas"]?.numberValue ?? 0)
            let ready = Int(status?["readyReplicas"]?.numberValue ?? 0)
            let progressing = status?["conditions"]?.arrayValue?.first { $0["type"] == "Progressing" }
            if progressing?["reason"] == "ProgressDeadlineExceeded" {
                return (false, true, "rollout failed: \(progressing?["message"]?.stringValue ?? "deadline exceeded")")
            }
            if updated == want && ready == want && status?["currentRevision"] == status?["updateRevision"] {
                return (true, false, "rollout complete: \(ready)/\(want) replicas ready on revision \(status?["updateRevision"]?.stringValue ?? "?")")
            }
            return (false, false, "waiting: \(updated)/\(want) updated, \(ready)/\(want) ready")
        }
    }

    struct Undo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Go back to the previous template revision.")
        @OptionGroup var workload: WorkloadTarget

        func run() async throws {
            try await runReporting {
                let (api, path, name) = try workload.resolve()
                let w = try await api.send(.GET, path).json()
                let revisions = w["status"]?["revisions"]?.arrayValue ?? []
                let current = w["status"]?["updateRevision"]?.stringValue
                guard let previous = revisions.last(where: { $0["hash"]?.stringValue != current }),
                    let template = previous["template"]
                else {
                    throw KumoError(.notFound, "workload/\(name) has no earlier revision to go back to")
                }
                _ = try await api.send(
                    .PATCH, path, body: JSONValue.object(["spec": ["template": template]]).serialized(),
                    contentType: mergePatchContentType)
                printOut("workload/\(name) rolled back to revision \(previous["hash"]?.stringValue ?? "?")")
            }
        }
    }
}

struct CordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon", abstract: "Stop placing new replicas on a node (--undo to allow again).")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Node name.") var node: String
    @Flag(help: "Uncordon.") var undo = false

    func run() async throws {
        try await runReporting {
            try await setUnschedulable(try client.client(), node: node, !undo)
            printOut("node/\(node) \(undo ? "uncordoned" : "cordoned")")
        }
    }
}

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Cordon a node and delete its replicas; their workloads replace them on other nodes.")
    @OptionGroup var client: ClientOptions
    @Argument(help: "Node name.") var node: String

    func run() async throws {
        try await runReporting {
            let api = try client.client()
            try await setUnschedulable(api, node: node, true)
            let list = try await api.send(.GET, "/api/v1/replicas", query: [("fieldSelector", "spec.nodeName=\(node)")]).json()
            var count = 0
            for r in list["items"]?.arrayValue ?? [] {
                guard let p = r["metadata"]?["project"]?.stringValue, let n = r["metadata"]?["name"]?.stringValue else { continue }
                try await api.send(.DELETE, APIPaths.object(.replica, project: p, name: n))
                count += 1
            }
            printOut("node/\(node) cordoned and drained (\(count) replicas deleted)")
        }
    }
}

/// Cordons (`true`) or uncordons a node.
func setUnschedulable(_ api: KumoClient, node: String, _ value: Bool) async throws(KumoError) {
    try await api.send(
        .PATCH, APIPaths.object(.node, project: nil, name: node),
        body: JSONValue.object(["spec": ["unschedulable": .bool(value)]]).serialized(), contentType: mergePatchContentType)
}

func requireProject(_ p: String?) throws(KumoError) -> String {
    guard let p else { throw KumoError(.invalid, "pass -p PROJECT (or set a default with kumo login -p)", field: "project") }
    return p
}
