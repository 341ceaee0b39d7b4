import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Set a workload's number of replicas.",
        usage: "kumo scale workload/NAME --replicas N [options]\nkumo scale [workload] NAME --replicas N [options]",
        discussion: "Example: kumo scale workload/web --replicas 5 -p shop")
    @OptionGroup var workload: WorkloadTarget
    @Option(help: "Desired replicas.") var replicas: Int

    func validate() throws {
        guard (0...10_000).contains(replicas) else { throw ValidationError("--replicas must be between 0 and 10000") }
    }

    func run() async throws {
        try await runReporting {
            let (api, path, name) = try workload.resolve(command: "scale")
            _ = try await api.send(
                .PATCH, path,
                body: JSONValue.object(["spec": ["replicas": .number(Double(replicas))]]).serialized(),
                contentType: mergePatchContentType)
            printOut("workload/\(name) scaled to \(replicas)")
        }
    }
}
