import AsyncHTTPClient
import KumoModel
import NIOCore
import NIOPosix

/// Runs one probe attempt against a replica: HTTP GET (2xx/3xx), TCP connect, or a command inside the container
/// (exit 0). Reached from the node's own namespace over the bridge, the way a load balancer on this node would.
struct ProbeChecker: Sendable {
    let driver: any SandboxDriver
    let http: HTTPClient

    static let defaultTimeout = Duration.seconds(1)

    func check(_ probe: Probe, containerID: String, ip: String) async -> (ok: Bool, detail: String) {
        let timeout = Duration.seconds(probe.timeoutSeconds ?? 1)
        if let get = probe.httpGet {
            var request = HTTPClientRequest(url: "http://\(ip):\(get.port)\(get.path)")
            request.method = .GET
            do {
                let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout.milliseconds)))
                _ = try? await response.body.collect(upTo: 64 << 10)
                let code = Int(response.status.code)
                return ((200..<400).contains(code), "HTTP GET \(get.path) on port \(get.port): \(code)")
            } catch {
                return (false, "HTTP GET \(get.path) on port \(get.port) failed: \(error)")
            }
        }
        if let tcp = probe.tcpSocket {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.milliseconds(Int64(timeout.milliseconds)))
                    .connect(host: ip, port: tcp.port).get()
                try? await channel.close()
                return (true, "TCP port \(tcp.port) accepts connections")
            } catch {
                return (false, "TCP port \(tcp.port): \(error)")
            }
        }
        if let argv = probe.exec {
            let status = await driver.exec(containerID, argv, timeout: timeout)
            return (status == 0, "command \(argv.first ?? "") exited \(status)")
        }
        return (false, "probe has no handler")
    }
}
