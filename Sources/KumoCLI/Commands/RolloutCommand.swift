import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Follow or undo a workload's rollout.", subcommands: [Status.self, Undo.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show where a rollout stands (--watch: until it ends).")
        @OptionGroup var workload: WorkloadTarget
        @Flag(name: [.short, .customLong("watch")], help: "Keep printing until the rollout completes or fails.") var watch = false

        func run() async throws {
            try await runReporting {
                let (api, path, _) = try workload.resolve(command: "rollout status")
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
                let (api, path, name) = try workload.resolve(command: "rollout undo")
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
