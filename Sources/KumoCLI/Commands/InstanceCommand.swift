import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// `kumo instance create|start|stop|reboot|delete`: VM lifecycle. Everything else (get, describe, console)
/// works on `instance/NAME` like other kinds.
struct InstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance",
        abstract: "Create and control virtual machines (QEMU on a node).",
        discussion: """
            Example: kumo instance create vm1 --image tiny-kernel:latest --vcpus 1 --memory 256Mi -p demo
            Then: kumo get instances -o wide -p demo; kumo describe instance/vm1 -p demo (the step timeline);
            kumo console instance/vm1 -f -p demo; kumo instance stop|start|reboot|delete vm1 -p demo.
            """,
        subcommands: [Create.self, Start.self, Stop.self, Reboot.self, Delete.self])

    /// `NAME -p PROJECT` and the client.
    struct Target: ParsableArguments {
        @OptionGroup var client: ClientOptions
        @Option(name: [.short, .customLong("project")], help: "Project.") var project: String?
        @Argument(help: ArgumentHelp("instance/NAME or just NAME.", valueName: "instance")) var name: String

        func resolve() throws(KumoError) -> (api: KumoClient, path: String, name: String) {
            let config = try client.config()
            let n = try ObjectArgument.name([name], of: .instance, command: "instance")
            let p = try requireProject(project ?? config.project)
            return (KumoClient(config: config), APIPaths.object(.instance, project: p, name: n), n)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a VM (it is scheduled, bound and booted).")
        @OptionGroup var client: ClientOptions
        @Option(name: [.short, .customLong("project")], help: "Project.") var project: String?
        @Argument(help: "Instance name (DNS label).") var name: String
        @Option(help: "VM image (kind kernel or disk): NAME[:TAG] or NAME@sha256:….") var image: String
        @Option(help: "Virtual CPUs.") var vcpus = 1
        @Option(help: "Memory, e.g. 256Mi.") var memory = "256Mi"
        @Option(help: "Overlay disk size for disk images, e.g. 1Gi.") var diskSize: String?
        @Option(help: "Run on this node (skips the scheduler's choice; still gets an address).") var node: String?
        @Option(help: "File with user data for the guest.") var userDataFile: String?
        @Option(help: "File with SSH public keys (one per line).") var sshKeysFile: String?

        func run() async throws {
            try await runReporting {
                let config = try client.config()
                let p = try requireProject(project ?? config.project)
                var spec: [String: JSONValue] = [
                    "image": .string(image), "vcpus": .number(Double(vcpus)), "memory": .string(memory),
                ]
                if let diskSize { spec["diskSize"] = .string(diskSize) }
                if let node { spec["nodeName"] = .string(node) }
                if let file = userDataFile {
                    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw KumoError(.notFound, "cannot read \(file)", field: "user-data-file")
                    }
                    spec["userData"] = .string(text)
                }
                if let file = sshKeysFile {
                    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                        throw KumoError(.notFound, "cannot read \(file)", field: "ssh-keys-file")
                    }
                    spec["sshAuthorizedKeys"] = .array(text.split(separator: "\n").map { .string(String($0)) })
                }
                let object: JSONValue = [
                    "apiVersion": "kumo/v1", "kind": "Instance", "metadata": ["name": .string(name), "project": .string(p)],
                    "spec": .object(spec),
                ]
                let api = KumoClient(config: config)
                _ = try await api.send(.POST, APIPaths.collection(.instance, project: p), body: object.serialized())
                printOut("instance/\(name) created")
            }
        }
    }

    static func setRunning(_ target: Target, _ running: Bool, verb: String) async throws {
        try await runReporting {
            let (api, path, name) = try target.resolve()
            var patch: [String: JSONValue] = ["spec": ["running": .bool(running)]]
            if running {  // also retries a Failed instance
                patch["metadata"] = .object(["annotations": .object([InstanceSpec.startAnnotation: .string(Timestamp.now().rfc3339)])])
            }
            _ = try await api.send(.PATCH, path, body: JSONValue.object(patch).serialized(), contentType: mergePatchContentType)
            printOut("instance/\(name) \(verb)")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a stopped VM (or retry a Failed one).")
        @OptionGroup var target: Target
        func run() async throws { try await InstanceCommand.setRunning(target, true, verb: "starting") }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a VM: ACPI power button (QMP system_powerdown), killed if it does not stop in time.")
        @OptionGroup var target: Target
        func run() async throws { try await InstanceCommand.setRunning(target, false, verb: "stopping") }
    }

    struct Reboot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reboot a running VM (QMP system_reset).")
        @OptionGroup var target: Target
        func run() async throws {
            try await runReporting {
                let (api, path, name) = try target.resolve()
                let patch = JSONValue.object([
                    "metadata": .object(["annotations": .object([InstanceSpec.rebootAnnotation: .string(Timestamp.now().rfc3339)])])
                ])
                _ = try await api.send(.PATCH, path, body: patch.serialized(), contentType: mergePatchContentType)
                printOut("instance/\(name) rebooting")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a VM: its agent removes the QEMU process, tap, DHCP entry and overlay disk.")
        @OptionGroup var target: Target
        func run() async throws {
            try await runReporting {
                let (api, path, name) = try target.resolve()
                _ = try await api.send(.DELETE, path)
                printOut("instance/\(name) deleted")
            }
        }
    }
}
