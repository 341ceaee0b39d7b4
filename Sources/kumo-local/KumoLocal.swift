import ArgumentParser
import Dispatch
import Foundation
import KumoTestbed

/// kumo-local: the local cloud of `make run` / `make stop` (KumoTestbed's `LocalRun`), and the supervisor of its
/// daemons.
@main
struct KumoLocal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kumo-local",
        abstract: "The local cloud of `make run`: a Kumo server and node agents in network namespaces on this machine.",
        discussion: """
            `make run` is `kumo-local up`, `make stop` is `kumo-local down` (both as root; the Makefile uses sudo). The \
            cloud is built by the same testbed code as the E2E tests (KumoTestbed: NetnsTopology, LocalCloud).

            Its layout is an interface that tests and scripts may rely on (README,
            docs/operations.md), with DIR = .kumo-run:
              DIR/config               the CLI config (KUMO_CONFIG=DIR/config)
              DIR/data/admin.token     the admin token; DIR/data/ca.crt the cluster CA
              DIR/agent-N.pid          agent N (DIR/server.pid: the server)
              DIR/NAME.supervisor.pid  its restart loop (kumo-local supervise)
              kumo-hN, kumo-ul         the host and underlay network namespaces
              kumo-hNu                 host N's link on the underlay bridge
              https://192.0.2.225:7480 the server; nodes node-N at 192.0.2.(225+N)
            """,
        subcommands: [Up.self, Down.self, Supervise.self])
}

/// An error said as it is (no usage text after it).
struct Refusal: Error, CustomStringConvertible {
    var description: String
}

/// Options `up` and `down` share.
struct RunOptions: ParsableArguments {
    @Option(help: "The run directory.")
    var dir = ".kumo-run"

    @Option(help: "The kumo binary (default: the one next to kumo-local).")
    var kumo: String?

    @Option(help: ArgumentHelp("The prefix of every namespace and link name.", visibility: .hidden))
    var prefix = ProcessInfo.processInfo.environment["KUMO_PREFIX"] ?? "kumo-"

    /// This binary, resolved (it is what runs `supervise`).
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    func run(agents: Int) throws -> LocalRun {
        guard getuid() == 0 else { throw Refusal(description: "needs root (network namespaces, runc): run it with sudo, as make run does") }
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = dir.hasPrefix("/") ? dir : cwd + "/" + dir
        let exe = Self.executable
        let here = URL(fileURLWithPath: exe).deletingLastPathComponent().path
        var run = LocalRun(
            dir: URL(fileURLWithPath: absolute).standardized.path, agents: agents, kumo: kumo ?? here + "/kumo",
            supervisor: exe)
        run.prefix = prefix
        return run
    }
}

extension KumoLocal {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a local cloud afresh (make run); returns once every node is Ready.",
            discussion: """
                Removes what a previous run left and the run directory, builds the namespaces, starts the server and \
                the agents (each under `kumo-local supervise`, which restarts it when it crashes), logs the CLI in, \
                pushes busybox:latest and, unless --no-vm, builds the VM images (scripts/build-vm-images.sh) and boots \
                vm1 in project vms. Then prints how to use it. Under sudo the server runs as the invoking user, who \
                also owns the run directory and the CLI config.
                """)

        @OptionGroup var options: RunOptions

        @Option(help: "How many node agents (1-9).")
        var agents = 3

        @Flag(name: .customLong("no-vm"), help: "Skip the VM demo (also KUMO_NO_VM=1).")
        var noVM = false

        @Option(help: "The agents' --log-level (default: $KUMO_AGENT_LOG_LEVEL or info).")
        var agentLogLevel: String?

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            var run = try options.run(agents: agents)
            run.vm = !noVM && (env["KUMO_NO_VM"] ?? "").isEmpty
            run.agentLogLevel = agentLogLevel ?? env["KUMO_AGENT_LOG_LEVEL"] ?? "info"
            run.repository = Self.repository()
            if let uid = env["SUDO_UID"].flatMap(UInt32.init), let gid = env["SUDO_GID"].flatMap(UInt32.init), uid != 0 {
                run.user = (uid, gid)
            }
            do {
                print(try await run.up())
            } catch {
                print(error.message)
                throw ExitCode(error.status)
            }
        }

        /// The checkout holding scripts/build-vm-images.sh: the current directory or one above it, else one above
        /// this binary (.build/…/debug/kumo-local).
        static func repository() -> String? {
            let starts = [FileManager.default.currentDirectoryPath, RunOptions.executable]
            for start in starts {
                var url = URL(fileURLWithPath: start)
                while url.path != "/" {
                    if FileManager.default.isExecutableFile(atPath: url.path + "/scripts/build-vm-images.sh") { return url.path }
                    url.deleteLastPathComponent()
                }
            }
            return nil
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the local cloud (make stop): its daemons, containers, VMs, namespaces and links.",
            discussion: "The run directory and its logs stay until the next `kumo-local up` (or make clean).")

        @OptionGroup var options: RunOptions

        func run() throws {
            try options.run(agents: LocalRun.maxAgents).down()
            print("local Kumo removed")
        }
    }

    struct Supervise: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a daemon and restart it when it exits (what up starts each daemon under).",
            discussion: """
                Runs COMMAND with its output appended to --log and its pid in --pid-file. When it exits for any reason \
                other than our own SIGTERM/SIGINT, it is started again after 1 s, doubling to 30 s, back to 1 s once \
                it has stayed up 60 s; each restart is a line in the log. SIGTERM/SIGINT stop COMMAND (SIGTERM, its \
                graceful stop), then the loop, which removes --pid-file.
                """,
            shouldDisplay: false)

        @Option(help: "Where the daemon's pid is written at each start.")
        var pidFile: String

        @Option(help: "The log the daemon's output and the restart lines are appended to.")
        var log: String

        @Option(help: "UID:GID to run as (dropped to before the first start).")
        var user: String?

        @Argument(parsing: .postTerminator, help: "The daemon's argv, after --.")
        var command: [String] = []

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("missing the command to supervise (after --)") }
        }

        func run() throws {
            if let user { try Self.become(user) }
            let supervisor = Supervisor(argv: command, pidFile: pidFile, log: log)
            // no terminal to hang up on (a session of its own); SIGTERM/SIGINT are handled, not fatal. The daemon
            // gets every signal back at its default disposition (Command.spawn).
            signal(SIGHUP, SIG_IGN)
            let sources = [SIGTERM, SIGINT].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { supervisor.stop() }
                source.resume()
                return source
            }
            supervisor.run()
            sources.forEach { $0.cancel() }
        }

        /// Drops root for `UID:GID`, then runs this command again without `--user`: an exec leaves one thread with
        /// the new credentials (the async main thread has already exited, and would show as root in /proc).
        static func become(_ user: String) throws {
            let parts = user.split(separator: ":").compactMap { UInt32($0) }
            guard parts.count == 2 else { throw ValidationError("--user must be UID:GID") }
            var groups = [gid_t(parts[1])]
            guard setgroups(1, &groups) == 0, setgid(parts[1]) == 0, setuid(parts[0]) == 0 else {
                throw Refusal(description: "cannot become \(user): \(String(cString: strerror(errno)))")
            }
            var argv = CommandLine.arguments
            if let at = argv.firstIndex(of: "--user"), at < (argv.firstIndex(of: "--") ?? argv.endIndex) {
                argv.removeSubrange(at...min(at + 1, argv.count - 1))
            }
            let cArgs = argv.map { strdup($0) } + [nil]
            execv(RunOptions.executable, cArgs)
            throw Refusal(description: "cannot run \(RunOptions.executable) again: \(String(cString: strerror(errno)))")
        }
    }
}
