import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoTestSupport
import NIOSSL
import Testing

/// Load-balancer acknowledgements ride on node leases (one number per node, not a Node write that every agent's node
/// watch would receive), and the server answers which live nodes lag a service revision. And the server speaks
/// HTTP/2, so an agent's watches and requests share one connection.
@Suite("API: load-balancer acknowledgements on leases; HTTP/2")
struct LoadBalancerAckTests {
    @Test("a node acknowledges the revision its HAProxy serves with its lease; loadbalancers names the live nodes that lag; no Node write")
    func acknowledgements() async throws {
        try await withServer { s in
            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            let service = try await s.admin.create(Sample.service("web"), kind: .service, project: "p")
            let revision = try #require(service["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) })
            let n1 = try await SecretTests.nodeToken(s, node: "n1")
            let n2 = try await SecretTests.nodeToken(s, node: "n2")
            let node1 = try await n1.create(Sample.node("n1"), kind: .node)
            _ = try await n2.create(Sample.node("n2"), kind: .node)
            let path = "/api/v1/projects/p/services/web/loadbalancers"

            // no live node yet: nothing lags
            var acks = try await s.admin.send(.GET, path).json()
            #expect(acks["liveNodes"] == 0 && acks["laggingCount"] == 0)
            #expect(acks["revision"]?.intValue.map { Int64($0) } == revision, "default: the service's resourceVersion")

            // both alive, n1 acknowledges an older revision, n2 nothing
            _ = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":30,"loadBalancer":{"appliedRevision":1}}"#.utf8))
            _ = try await n2.send(.PUT, "/api/v1/nodes/n2/lease", body: Array(#"{"durationSeconds":30}"#.utf8))
            acks = try await n1.send(.GET, path).json()
            #expect(acks["liveNodes"] == 2 && acks["serving"] == 0 && acks["laggingCount"] == 2, "\(acks)")
            #expect(acks["lagging"]?.arrayValue?.compactMap { $0["node"]?.stringValue } == ["n1", "n2"])
            #expect(acks["lagging"]?.arrayValue?[0]["appliedRevision"] == 1)
            // a node that never acknowledged: no appliedRevision or appliedAt at all (null would break the schema's integer)
            #expect(acks["lagging"]?.arrayValue?[1].objectValue?.keys.sorted() == ["node"], "\(acks)")

            // n1 catches up (an acknowledgement alone keeps the lease's duration); n2's heartbeat keeps nothing from it
            let lease = try await n1.send(
                .PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"loadBalancer":{"appliedRevision":\#(revision)}}"#.utf8)
            ).json()
            #expect(lease["durationSeconds"] == 30 && lease["loadBalancer"]?["appliedAt"]?.stringValue != nil)
            acks = try await n2.send(.GET, path, query: [("revision", String(revision))]).json()
            #expect(acks["serving"] == 1 && acks["laggingCount"] == 1 && acks["lagging"]?.arrayValue?[0]["node"] == "n2", "\(acks)")
            // a heartbeat without an acknowledgement keeps the last one
            _ = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"durationSeconds":30}"#.utf8))
            #expect(try await s.admin.send(.GET, "/api/v1/nodes/n1/lease").json()["loadBalancer"]?["appliedRevision"]?.intValue.map { Int64($0) } == revision)
            _ = try await n2.send(.PUT, "/api/v1/nodes/n2/lease", body: Array(#"{"loadBalancer":{"appliedRevision":\#(revision + 5)}}"#.utf8))
            acks = try await s.admin.send(.GET, path).json()
            #expect(acks["serving"] == 2 && acks["laggingCount"] == 0, "\(acks)")

            // an expired lease is not a live node: it does not hold a drain up
            _ = try await n2.send(.PUT, "/api/v1/nodes/n2/lease", body: Array(#"{"durationSeconds":1}"#.utf8))
            try await Task.sleep(for: .milliseconds(1100))
            acks = try await s.admin.send(.GET, path, query: [("revision", String(revision + 10))]).json()
            #expect(acks["liveNodes"] == 1 && acks["lagging"]?.arrayValue?.compactMap { $0["node"]?.stringValue } == ["n1"], "\(acks)")

            // bad input: a clear 4xx naming the field, nothing changed
            for bad in ["-1", "1.5", "\"3\"", "1e300"] {
                let error = await kumoError {
                    _ = try await n1.send(.PUT, "/api/v1/nodes/n1/lease", body: Array(#"{"loadBalancer":{"appliedRevision":\#(bad)}}"#.utf8))
                }
                #expect(error?.code == .invalid && error?.field == "loadBalancer.appliedRevision", "appliedRevision \(bad): \(String(describing: error))")
            }
            #expect(await kumoError { _ = try await s.admin.send(.GET, path, query: [("revision", "x")]) }?.field == "revision")
            #expect(await kumoError { _ = try await s.admin.send(.GET, "/api/v1/projects/p/services/none/loadbalancers") }?.code == .notFound)
            // acknowledgements never touch the Node
            #expect(try await s.admin.get(.node, "n1")["metadata"]?["resourceVersion"] == node1["metadata"]?["resourceVersion"])
        }
    }

    @Test("clients that offer h2 get HTTP/2 (a watch, then requests beside it); HTTP/1.1 clients are still served")
    func http2() async throws {
        try await withServer { s in
            var request = HTTPClientRequest(url: s.url + "/api/v1/nodes?watch=true")
            request.headers.add(name: "Authorization", value: "Bearer \(s.admin.token)")
            let watch = try await s.admin.http.execute(request, timeout: .seconds(30))
            #expect(watch.status == .ok)
            #expect(watch.version.major == 2, "the watch is an HTTP/2 stream")
            // while the watch stays open, requests on the same client are answered beside it
            for _ in 0..<3 { _ = try await s.admin.send(.GET, "/api/v1/nodes") }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(s.caPEM.utf8)))
            var http1 = HTTPClient.Configuration(tlsConfiguration: tls)
            http1.httpVersion = .http1Only
            let old = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http1)
            var plain = HTTPClientRequest(url: s.url + "/api/v1/nodes")
            plain.headers.add(name: "Authorization", value: "Bearer \(s.admin.token)")
            let answer = try await old.execute(plain, timeout: .seconds(30))
            #expect(answer.status == .ok && answer.version.major == 1)
            _ = try await answer.body.collect(upTo: 1 << 20)
            try await old.shutdown()
        }
    }
}
