import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show objects in detail: spec, status, who owns which field, recent changes and events.",
        usage: """
            kumo describe KIND NAME... [options]
            kumo describe KIND/NAME... [options]
            """,
        discussion: """
            Kinds: \(ObjectArgument.kindNames).
            Examples: kumo describe node n1   kumo describe service/web -p shop   kumo describe wl/web svc/web -p shop
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var projectOptions: ProjectOptions

    @Argument(help: "A kind and names, or objects as KIND/NAME.")
    var objects: [String]

    func run() async throws {
        try await runReporting {
            guard case .objects(let refs) = try ObjectArgument.parse(objects) else {
                throw KumoError(.invalid, "name what to describe: KIND NAME... or KIND/NAME...")
            }
            let config = try client.config()
            let api = KumoClient(config: config)
            var failed = false
            for (i, ref) in refs.enumerated() {
                do throws(KumoError) {
                    let project = try projectOptions.resolve(ref.kind, config: config)
                    if project == nil && ref.kind.scope == .project {
                        throw KumoError(.invalid, "\(ref) is in one project: pass -p PROJECT", field: "project")
                    }
                    let text = try await describe(ref, project: project, api: api)
                    printOut((i > 0 ? "\n" : "") + text)
                } catch {
                    if refs.count == 1 { throw error }
                    printErr("error: \(ref): \(error.message)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    /// One object's description.
    func describe(_ ref: ObjectArgument, project: String?, api: KumoClient) async throws(KumoError) -> String {
        let (k, n) = (ref.kind, ref.name)
        let object = try await api.send(.GET, APIPaths.object(k, project: project, name: n)).json()
        var out = ""
        let meta = object["metadata"]
        out += "Kind:         \(k.rawValue)\n"
        out += "Name:         \(n)\n"
        if let p = meta?["project"]?.stringValue { out += "Project:      \(p)\n" }
        out += "Created:      \(meta?["createdAt"]?.stringValue ?? "?") (\(ObjectColumns.age(meta?["createdAt"]?.stringValue)) ago)\n"
        out += "Revision:     \(meta?["resourceVersion"]?.stringValue ?? "?")\n"
        out += "UID:          \(meta?["uid"]?.stringValue ?? "?")\n"
        for (title, key) in [("Labels", "labels"), ("Annotations", "annotations")] {
            let map = meta?[key]?.objectValue ?? [:]
            out += "\(title):".padding(toLength: 14, withPad: " ", startingAt: 0)
            out += map.isEmpty ? "<none>\n" : map.keys.sorted().map { "\($0)=\(map[$0]?.stringValue ?? "")" }.joined(separator: "\n              ") + "\n"
        }
        for section in ["spec", "status"] {
            guard var v = object[section], !v.isNull else { continue }
            if k == .secret && section == "spec" { v = Self.maskingSecretValues(v) }
            out += "\(section.capitalized):\n" + YAMLCodec.yaml(v).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        if k == .instance, let steps = object["status"]?["steps"]?.arrayValue, !steps.isEmpty {
            out += "Timeline:\n" + InstanceTimeline.render(steps) + "\n"
            if let tail = object["status"]?["consoleTail"]?.stringValue, !tail.isEmpty {
                out += "Console (last lines):\n" + tail.split(separator: "\n").map { "  | " + $0 }.joined(separator: "\n") + "\n"
            }
        }
        let owners = meta?["managedFields"]?.objectValue ?? [:]
        if !owners.isEmpty {
            out += "Field owners:\n"
            var byManager: [String: [String]] = [:]
            for (field, m) in owners { byManager[m.stringValue ?? "?", default: []].append(field) }
            for m in byManager.keys.sorted() { out += "  \(m): \(byManager[m]!.sorted().joined(separator: ", "))\n" }
        }
        if k == .service, let project {
            out += await Self.loadBalancerSection(api, project: project, name: n, service: object)
        }
        if [.node, .replica, .instance, .service, .workload, .image, .secret].contains(k) {
            out += await DoctorTable.describeSection(api, kind: k.rawValue.lowercased(), name: n, project: project)
        }
        if let history = try? await api.send(.GET, APIPaths.history(k, project: project, name: n), query: [("limit", "5")])
            .decode(HistoryList.self)
        {
            out += "Recent changes:\n"
            for h in history.items.reversed() {
                out += "  rev \(h.revision ?? 0)  \(h.time)  \(h.manager)  \(h.operation)  (\(h.patch.count) ops)\n"
            }
        }
        if let events = try? await EventsCommand.fetch(api, regarding: (k.rawValue, n, project), project: project), !events.isEmpty {
            out += "Events:\n"
            var t = Table(headers: ["  LAST SEEN", "TYPE", "REASON", "SOURCE", "MESSAGE"])
            t.rows = events.suffix(10).map { e in
                let s = e["spec"]
                return [
                    "  " + ObjectColumns.age(s?["lastTime"]?.stringValue), s?["type"]?.stringValue ?? "",
                    s?["reason"]?.stringValue ?? "", s?["source"]?.stringValue ?? "", s?["message"]?.stringValue ?? "",
                ]
            }
            out += t.render() + "\n"
        } else {
            out += "Events:       <none>\n"
        }
        return out
    }

    /// Describe shows a secret's keys and sizes, never its values (`kumo secret get --reveal` does).
    static func maskingSecretValues(_ spec: JSONValue) -> JSONValue {
        guard var o = spec.objectValue, let data = o["data"]?.objectValue else { return spec }
        o["data"] = .object(
            data.mapValues { v in
                let size = v.stringValue.flatMap { Data(base64Encoded: $0) }?.count ?? 0
                return .string("<\(size) bytes>")
            })
        return .object(o)
    }
}
