import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import KumoTestSupport
import KumoTestbed
import Testing

extension DoctorE2ETests {
    /// The server serves an operator's certificate (`--tls-cert`, signed by the cluster CA made before the first
    /// start), so the test can replace it with one about to expire; the files are re-read every second.
    static func operatorCertificate(_ c: LocalCloud, ca: CertificateAuthority, expiringIn seconds: Double?) throws {
        let issued: IssuedCertificate
        if let seconds {
            // issued 40 h ago: its lifetime makes a warning window of about 10 h, of which `seconds` are left
            let age = 40.0 * 3600
            issued = try ca.issue(
                commonName: "operator", dnsNames: ["localhost"], ipAddresses: [c.serverIP, "127.0.0.1"],
                lifetime: .seconds(age + seconds), now: Date() - age)
        } else {
            issued = try ca.issue(
                commonName: "operator", dnsNames: ["localhost"], ipAddresses: [c.serverIP, "127.0.0.1"], lifetime: .seconds(365 * 86400))
        }
        // the key first: a check between the two writes sees a mismatched pair, keeps the old one and retries
        try Data(issued.keyPEM.utf8).write(to: URL(fileURLWithPath: c.dir + "/operator.key"))
        chmod(c.dir + "/operator.key", 0o600)
        try Data(issued.chainPEM.utf8).write(to: URL(fileURLWithPath: c.dir + "/operator.crt"))
    }

    @Test("HAProxy hung on one node, a health check failing everywhere, replicas never Ready, a corrupted image blob, a stalled watch stream, a certificate near expiry, slow store commits — each ranked first")
    func servicesAndControlPlane() async throws {
        let cloud = LocalCloud(agents: 2) { layout in
            layout.serverArguments += [
                "--tls-cert", layout.dir + "/operator.crt", "--tls-key", layout.dir + "/operator.key", "--certificate-check-seconds", "1",
            ]
        }
        try await tearingDown(cloud) {
            let c = cloud
            try FileManager.default.createDirectory(atPath: c.layout.serverDataDir, withIntermediateDirectories: true)
            let ca = try CertificateAuthority.loadOrCreate(certPath: c.layout.serverDataDir + "/ca.crt", keyPath: c.layout.serverDataDir + "/ca.key")
            try Self.operatorCertificate(c, ca: ca, expiringIn: nil)
            try await c.start()
            try c.kumo(["image", "push", "busybox:latest", "--from-busybox"])
            try c.apply(Self.demo(replicas: 2))
            try await eventually("2 replicas serve", timeout: .seconds(60)) {
                let svc = try await c.admin.get(.service, "web", project: "demo")
                return (svc["status"]?["endpoints"]?.arrayValue ?? []).count == 2
            }

            // HAProxy stopped on node 2 (SIGSTOP: its pid and sockets stay): only the runtime API's silence tells
            var pid = 0
            try await eventually("node 2 reports its HAProxy", timeout: .seconds(30)) {
                pid = try await c.admin.send(.GET, APIPaths.nodeHealth(c.nodeName(2))).json()["haproxy"]?["pid"]?.intValue ?? 0
                return pid > 0
            }
            kill(pid_t(pid), SIGSTOP)
            let h = try await ranksFirst(c, ["HAPROXY_DOWN"], component: "haproxy", node: c.nodeName(2))
            #expect(h["summary"]?.stringValue?.contains("stopped or hung") == true, "\(h.jsonString)")
            kill(pid_t(pid), SIGCONT)
            try await clears(c, "HAPROXY_DOWN")

            // a health check the replicas cannot pass (their httpd has no /healthz): every node's HAProxy sees it
            try c.apply("""
                apiVersion: kumo/v1
                kind: Service
                metadata: {name: checked, project: demo}
                spec:
                  selector: {app: web}
                  ports: [{port: 81, targetPort: 8080, protocol: HTTP}]
                  healthCheck: {path: /healthz, intervalSeconds: 1}
                """)
            let hc = try await ranksFirst(c, ["SERVICE_HEALTH_CHECK_FAILING"], component: "spec", node: nil, args: ["service/checked", "-p", "demo"], timeout: .seconds(60))
            #expect(hc.jsonString.contains("L7STS"), "HAProxy's check status is the evidence: \(hc.jsonString)")
            try c.kumo(["delete", "service/checked", "-p", "demo"])

            // replicas that run but never pass their readiness probe: the service has no endpoint, the probe is why
            let unready = Self.workload(
                "unready", command: #"["sh", "-c", "mkdir -p /tmp/www && exec httpd -f -p 8080 -h /tmp/www"]"#,
                extra: [
                    "resources: {cpu: 50m, memory: 16Mi}", "terminationGracePeriodSeconds: 1", "readinessProbe:",
                    "  httpGet: {path: /, port: 9999}", "  periodSeconds: 1",
                ])
            try c.apply(unready + """
                ---
                apiVersion: kumo/v1
                kind: Service
                metadata: {name: unready, project: demo}
                spec:
                  selector: {app: unready}
                  ports: [{port: 80, targetPort: 8080}]
                """)
            let nr = try await ranksFirst(c, ["REPLICA_NOT_READY"], component: "spec", node: nil, anyNode: true, args: ["service/unready", "-p", "demo"], timeout: .seconds(60))
            #expect(nr["summary"]?.stringValue?.contains("readiness probe") == true, "\(nr.jsonString)")
            try c.kumo(["delete", "service/unready", "-p", "demo"])
            try c.kumo(["delete", "workload/unready", "-p", "demo"])

            // an image whose layer blob was damaged in the server's blob store after the push
            let rootfs = c.dir + "/corrupt-rootfs"
            try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
            try Data((0..<65536).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: rootfs + "/payload"))
            let blobs = c.layout.serverDataDir + "/blobs/sha256"
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: blobs))
            try c.kumo(["image", "push", "damaged:v1", "--from-dir", rootfs, "--cmd", "/payload", "-q"])
            let added = Set(try FileManager.default.contentsOfDirectory(atPath: blobs)).subtracting(before)
            let layer = try #require(
                added.max { (try? FileManager.default.attributesOfItem(atPath: "\(blobs)/\($0)")[.size] as? Int) ?? 0 < (try? FileManager.default.attributesOfItem(atPath: "\(blobs)/\($1)")[.size] as? Int) ?? 0 })
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: "\(blobs)/\(layer)")))
            for i in stride(from: bytes.count / 2, to: min(bytes.count, bytes.count / 2 + 64), by: 1) { bytes[i] ^= 0xff }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(blobs)/\(layer)"))
            try c.apply(Self.workload("damaged", image: "damaged:v1", command: nil, extra: ["resources: {cpu: 50m, memory: 16Mi}"]))
            let ip = try await ranksFirst(c, ["IMAGE_PULL_FAILED"], component: "images", node: nil, anyNode: true, args: ["workload/damaged", "-p", "demo"], timeout: .seconds(60))
            #expect(ip["summary"]?.stringValue?.contains("damaged:v1") == true, "\(ip.jsonString)")
            try c.kumo(["delete", "workload/damaged", "-p", "demo"])
            try await clears(c, "IMAGE_PULL_FAILED")

            // a watch client that stops reading while the resource it watches changes: its stream falls behind
            try c.apply(Self.workload("noise", replicas: 0, command: nil))
            let http = try ClusterTrust.httpClient(caPEM: c.server.caPEM)
            try await withCleanup {
                var request = HTTPClientRequest(url: c.server.url + APIPaths.collection(.workload, project: "demo") + "?watch=true")
                request.headers.add(name: "Authorization", value: "Bearer \(c.server.adminToken)")
                request.headers.add(name: "Accept", value: "application/x-ndjson")
                let stalled = try await http.execute(request, timeout: .minutes(5))
                #expect(stalled.status == .ok)
                // ~12 MB of changes: more than the kernel and the client buffer, less than the server's cut-off (16 MB)
                let filler = String(repeating: "x", count: 30_000)
                for i in 0..<400 {
                    try await c.admin.mergePatch(.workload, "noise", project: "demo", ["metadata": ["annotations": ["noise": .string("\(i)-\(filler)")]]])
                }
                let w = try await ranksFirst(c, ["WATCH_STREAM_LAGGING"], component: "api-server", node: nil, timeout: .seconds(60))
                #expect(w["summary"]?.stringValue?.contains("revisions behind") == true, "\(w.jsonString)")
                _ = stalled
            } cleanup: {
                try? await http.shutdown()
            }
            try await clears(c, "WATCH_STREAM_LAGGING")
            try c.kumo(["delete", "workload/noise", "-p", "demo"])

            // the serving certificate (the operator's file) has 3 hours left of 43: a warning for the pki
            try Self.operatorCertificate(c, ca: ca, expiringIn: 3 * 3600)
            let cert = try await ranksFirst(c, ["CERTIFICATE_EXPIRING"], component: "pki", node: nil)
            #expect(cert["summary"]?.stringValue?.contains("serving") == true && cert["severity"]?.stringValue == "warn", "\(cert.jsonString)")
            try Self.operatorCertificate(c, ca: ca, expiringIn: nil)
            try await clears(c, "CERTIFICATE_EXPIRING")

            // the store's commits slowed (the test seam: every commit waits 700 ms), everything else healthy
            try await c.restartServer(extraArguments: ["--fault-commit-delay-ms", "700"])
            let slow = try await ranksFirst(c, ["STORE_COMMITS_SLOW"], component: "store", node: nil, timeout: .seconds(60))
            #expect(slow.jsonString.contains("p99"), "\(slow.jsonString)")
        }
    }
}
