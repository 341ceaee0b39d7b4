import KumoModel
import Testing

@testable import KumoCLI

/// How the CLI reads object references (`KIND NAME`, `KIND/NAME`, kubectl's forms) and `-A`. Pure: no server.
/// (These live in KumoServerTests because that target already depends on KumoCLI.)
@Suite("CLI: object references and -A")
struct CLIParsingTests {
    typealias Ref = ObjectArgument

    @Test("KIND alone lists; KIND NAME... and KIND/NAME... name objects; plural and short kind names work")
    func forms() throws {
        #expect(try Ref.parse(["nodes"]) == .all(.node))
        #expect(try Ref.parse(["WL"]) == .all(.workload))
        #expect(try Ref.parse(["svc", "web"]) == .objects([Ref(kind: .service, name: "web")]))
        #expect(try Ref.parse(["service/web"]) == .objects([Ref(kind: .service, name: "web")]))
        #expect(try Ref.parse(["services/web"]) == .objects([Ref(kind: .service, name: "web")]))
        #expect(try Ref.parse(["Service/web"]) == .objects([Ref(kind: .service, name: "web")]))
        #expect(
            try Ref.parse(["svc", "web", "api"]) == .objects([Ref(kind: .service, name: "web"), Ref(kind: .service, name: "api")]))
        // several KIND/NAME of different kinds, in the order given
        #expect(
            try Ref.parse(["node/n1", "wl/web", "vm/vm1"])
                == .objects([Ref(kind: .node, name: "n1"), Ref(kind: .workload, name: "web"), Ref(kind: .instance, name: "vm1")]))
        // after a bare kind, names are literal; in KIND/NAME the name is everything after the first slash
        #expect(try Ref.parse(["image", "library/busybox"]) == .objects([Ref(kind: .image, name: "library/busybox")]))
        #expect(try Ref.parse(["image/library/busybox"]) == .objects([Ref(kind: .image, name: "library/busybox")]))
        #expect(Ref(kind: .service, name: "web").description == "service/web")
    }

    @Test("errors name what is wrong: unknown kind (with the kinds there are), mixed forms, no name, nothing")
    func errors() throws {
        let unknown = kumoErrorMessage { _ = try Ref.parse(["gadget/x"]) }
        #expect(unknown?.contains("unknown kind \"gadget\"") == true, "\(unknown ?? "no error")")
        #expect(unknown?.contains("one of node, project, image, workload") == true, "\(unknown ?? "no error")")
        #expect(unknown?.contains("svc") == true, "short names are listed: \(unknown ?? "no error")")
        #expect(kumoErrorMessage { _ = try Ref.parse(["widgets"]) }?.contains("unknown kind \"widgets\"") == true)
        let mixed = kumoErrorMessage { _ = try Ref.parse(["node/n1", "n2"]) }
        #expect(mixed?.contains("\"n2\" is not KIND/NAME") == true, "\(mixed ?? "no error")")
        let noName = kumoErrorMessage { _ = try Ref.parse(["node/"]) }
        #expect(noName?.contains("names no object") == true, "\(noName ?? "no error")")
        #expect(kumoErrorMessage { _ = try Ref.parse(["node", ""]) } != nil)
        #expect(kumoErrorMessage { _ = try Ref.parse([]) } != nil)
    }

    @Test("exactly one object: KIND/NAME or KIND NAME (history, events --for)")
    func one() throws {
        #expect(try Ref.parseOne(["node/n1"]) == Ref(kind: .node, name: "n1"))
        #expect(try Ref.parseOne(["node", "n1"]) == Ref(kind: .node, name: "n1"))
        #expect(try Ref.parseOne(["workloads", "web"]) == Ref(kind: .workload, name: "web"))
        #expect(kumoErrorMessage { _ = try Ref.parseOne(["node"]) }?.contains("node/NAME or node NAME") == true)
        #expect(kumoErrorMessage { _ = try Ref.parseOne(["node/a", "node/b"]) }?.contains("name one object, not 2") == true)
        #expect(try Ref.slashed("replica/web-1") == Ref(kind: .replica, name: "web-1"))
        #expect(kumoErrorMessage { _ = try Ref.slashed("web-1") }?.contains("expected KIND/NAME") == true)
    }

    @Test("one-kind commands (cordon, drain, logs, scale): NAME, KIND/NAME, KIND NAME; another kind is refused clearly")
    func oneKind() throws {
        #expect(try Ref.name(["n1"], of: .node, command: "cordon") == "n1")
        #expect(try Ref.name(["node/n1"], of: .node, command: "cordon") == "n1")
        #expect(try Ref.name(["nodes/n1"], of: .node, command: "cordon") == "n1")
        #expect(try Ref.name(["no", "n1"], of: .node, command: "drain") == "n1")
        #expect(try Ref.name(["replica", "web-1"], of: .replica, command: "logs") == "web-1")
        #expect(try Ref.name(["wl/web"], of: .workload, command: "scale") == "web")
        let wrong = kumoErrorMessage { _ = try Ref.name(["replica/x"], of: .node, command: "cordon") }
        #expect(wrong?.contains("kumo cordon works on nodes only, not replica") == true, "\(wrong ?? "no error")")
        #expect(wrong?.contains("node/NAME") == true)
        let unknown = kumoErrorMessage { _ = try Ref.name(["gadget/x"], of: .node, command: "drain") }
        #expect(unknown?.contains("kumo drain works on nodes only") == true, "\(unknown ?? "no error")")
        let logsOfNode = kumoErrorMessage { _ = try Ref.name(["node", "n1"], of: .replica, command: "logs") }
        #expect(logsOfNode?.contains("works on replicas only") == true, "\(logsOfNode ?? "no error")")
        #expect(kumoErrorMessage { _ = try Ref.name(["node/"], of: .node, command: "cordon") }?.contains("names no node") == true)
        #expect(kumoErrorMessage { _ = try Ref.name(["a", "b", "c"], of: .node, command: "cordon") }?.contains("takes one node") == true)
    }

    @Test("the commands take these forms and -A (as well as -a and --all-projects)")
    func commandLines() throws {
        let get = try GetCommand.parse(["service/web", "-A"])
        #expect(get.objects == ["service/web"] && get.projectOptions.allProjects)
        #expect(try GetCommand.parse(["replicas", "-a"]).projectOptions.allProjects)
        #expect(try GetCommand.parse(["replicas", "--all-projects"]).projectOptions.allProjects)
        #expect(try !GetCommand.parse(["replicas"]).projectOptions.allProjects)
        #expect(try GetCommand.parse(["svc", "web", "api", "-p", "shop"]).objects == ["svc", "web", "api"])
        #expect(try DescribeCommand.parse(["svc", "web", "-A"]).projectOptions.allProjects)
        #expect(try DeleteCommand.parse(["wl/web", "svc/web", "-p", "shop"]).objects == ["wl/web", "svc/web"])
        #expect(throws: (any Error).self) { try DeleteCommand.parse([]) }
        #expect(try HistoryCommand.parse(["node", "n1"]).object == ["node", "n1"])
        #expect(try EventsCommand.parse(["-A"]).allProjects)
        #expect(throws: (any Error).self) { try EventsCommand.parse(["-A", "-p", "shop"]) }
        #expect(try CordonCommand.parse(["node/n1", "--undo"]).target == ["node/n1"])
        #expect(try DrainCommand.parse(["node", "n1"]).target == ["node", "n1"])
        #expect(try LogsCommand.parse(["replica", "web-1", "-f"]).target == ["replica", "web-1"])
        #expect(try ScaleCommand.parse(["workload", "web", "--replicas", "2"]).workload.target == ["workload", "web"])
    }
}
