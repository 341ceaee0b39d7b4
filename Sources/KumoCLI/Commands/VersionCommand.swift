import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Client and server versions.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        printOut("client: kumo \(KumoVersion.current) (API \(Kind.apiVersion))")
        do {
            let v = try await client.client().send(.GET, "/version").decode(VersionInfo.self)
            printOut("server: kumo \(v.version) (API \(v.apiVersion))")
        } catch {
            printOut("server: unknown (\(error.message))")
        }
    }
}
