import Foundation
import KumoAPI
import KumoAgent
import KumoImages
import KumoModel
import KumoSystem
import Logging
import Testing

@testable import KumoCLI
@testable import KumoServer

/// The image service end to end on a real server: blobs, tags, names with `/`, authorization, GC, the CLI's
/// pusher and the agent's image store pulling through the API.
@Suite("API: image blobs and tags")
struct ImageAPITests {
    static func scratch() throws -> String {
        let dir = temporaryPath("imgtest")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ bytes: [UInt8], _ path: String) -> String {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static func nodeClient(_ s: TestServer, node: String) async throws -> KumoClient {
        let join = try await s.admin.send(
            .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(role: .join)))
        ).decode(TokenInfo.self)
        let info = try await s.client(token: join.token!).send(
            .POST, "/api/v1/join", body: Array(try JSONEncoder().encode(JoinRequest(node: node)))
        ).decode(TokenInfo.self)
        return s.client(token: info.token!)
    }

    static func pusher(_ client: KumoClient) -> ImagePusher {
        ImagePusher(client: client, progress: ProgressReporter(interactive: false, quiet: true))
    }

    static func rootfs(_ dir: String, _ files: [String: String]) throws -> String {
        let root = dir + "/root-\(UUID().uuidString.prefix(6))"
        for (path, content) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: full, contents: Data(content.utf8))
        }
        return root
    }

    @Test("a blob over the 3 MiB body limit streams up and down; re-upload is 200; HEAD gives the size")
    func blobRoundTrip() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var bytes = [UInt8](repeating: 0, count: 5 << 20)
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
            let file = Self.write(bytes, dir + "/blob")
            let digest = FileDigest.sha256(of: bytes)
            #expect(try await s.admin.blobSize(digest) == nil)
            let first = try await s.admin.upload(APIPaths.blob(digest), fromFile: file)
            #expect(first.status == 201)
            #expect(try await s.admin.upload(APIPaths.blob(digest), fromFile: file).status == 200)
            #expect(try await s.admin.blobSize(digest) == Int64(bytes.count))
            let back = dir + "/back"
            #expect(try await s.admin.download(APIPaths.blob(digest), to: back) == Int64(bytes.count))
            #expect(try FileDigest.sha256(ofFile: back).digest == digest)
            #expect(FileManager.default.fileExists(atPath: s.dir + "/blobs/sha256/" + FileDigest.hex(of: digest)!))
            let missing = await kumoError { try await s.admin.download(APIPaths.blob(FileDigest.sha256(of: [1])), to: back) }
            #expect(missing?.code == .notFound)
            #expect(!FileManager.default.fileExists(atPath: back), "a failed download leaves no file")
        }
    }

    @Test("an upload whose content does not hash to the URL's digest → 422 digest, nothing stored")
    func wrongDigest() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = Self.write(Array("the real content".utf8), dir + "/blob")
            let claimed = FileDigest.sha256(of: Array("something else".utf8))
            let error = await kumoError { try await s.admin.upload(APIPaths.blob(claimed), fromFile: file) }
            #expect(error?.code == .invalid)
            #expect(error?.field == "digest")
            #expect(try await s.admin.blobSize(claimed) == nil)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256")) ?? []
            #expect(left.isEmpty, "no blob and no temp file: \(left)")
            let bad = await kumoError { try await s.admin.upload("/api/v1/blobs/sha256:nothex", fromFile: file) }
            #expect(bad?.code == .badRequest)
        }
    }

    @Test("an upload cut short (connection closed mid-body) leaves nothing behind")
    func uploadCutShort() async throws {
        try await withServer { s in
            let digest = FileDigest.sha256(of: [UInt8](repeating: 1, count: 100_000))
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(s.port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            let head = "PUT \(APIPaths.blob(digest)) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(s.admin.token)\r\n"
                + "Content-Length: 100000\r\nContent-Type: application/octet-stream\r\n\r\n"
            let bytes = Array(head.utf8) + [UInt8](repeating: 1, count: 40_000)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            try await Task.sleep(for: .milliseconds(200))
            close(fd)
            var left: [String] = ["?"]
            for _ in 0..<50 {
                try await Task.sleep(for: .milliseconds(100))
                left = (try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256")) ?? []
                if left.isEmpty { break }
            }
            #expect(left.isEmpty, "temp file removed: \(left)")
            #expect(try await s.admin.blobSize(digest) == nil)
        }
    }

    @Test("over --max-blob-bytes → 413, nothing stored")
    func blobLimit() async throws {
        try await withServer(configure: { $0.maxBlobBytes = 1000 }) { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let bytes = [UInt8](repeating: 7, count: 4000)
            let file = Self.write(bytes, dir + "/blob")
            let error = await kumoError { try await s.admin.upload(APIPaths.blob(FileDigest.sha256(of: bytes)), fromFile: file) }
            #expect(error?.code == .payloadTooLarge)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256")) ?? []).isEmpty)
        }
    }

    @Test("a truncated layer at tag time → 422 naming the layer, nothing tagged")
    func truncatedLayer() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let builder = ImageBuilder(command: Command(), workDir: dir)
            var files: [String: String] = [:]
            for i in 0..<200 { files["data/file\(i)"] = String(repeating: "payload \(i) ", count: 200) }
            let (layer, diffID) = try await builder.layer(fromDirectory: try Self.rootfs(dir, files))
            let whole = Array(try Data(contentsOf: URL(fileURLWithPath: layer.path)))
            let cut = Array(whole.prefix(whole.count / 2))
            let cutFile = ImageBuilder.BlobFile(
                path: Self.write(cut, dir + "/cut.tgz"),
                descriptor: OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: FileDigest.sha256(of: cut), size: Int64(cut.count)))
            let config = try builder.config(diffIDs: [diffID], run: .init(Cmd: ["/bin/sh"]))
            let error = await kumoError {
                _ = try await Self.pusher(s.admin).push(name: "team/app", tag: "v1", config: config, layers: [cutFile])
            }
            #expect(error?.code == .invalid)
            #expect(error?.field == "layers[0].digest")
            #expect(error?.message.contains(cutFile.descriptor.digest) == true)
            #expect(await kumoError { _ = try await s.admin.get(.image, "team/app") }?.code == .notFound)
            // a manifest naming a blob that was never uploaded, or with a wrong size
            var missing = layer
            missing.descriptor.size += 1
            let unknown = await kumoError {
                _ = try await s.admin.send(
                    .PUT, APIPaths.imageTag("team/app", tag: "v1"),
                    body: Array(try JSONEncoder().encode(OCIManifest(config: config.descriptor, layers: [missing.descriptor]))))
            }
            #expect(unknown?.code == .invalid)
            let garbage = await kumoError {
                _ = try await s.admin.send(.PUT, APIPaths.imageTag("team/app", tag: "v1"), body: Array("{}".utf8))
            }
            #expect(garbage?.code == .invalid)
        }
    }

    @Test("tag, retag, untag an image whose name has '/', by encoded and by plain path; GC after removal")
    func tagsAndNames() async throws {
        try await withServer(configure: { $0.blobGCGrace = .zero }) { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pusher = Self.pusher(s.admin)
            let v1 = try await pusher.push(
                "library/web.app_x:v1", from: .directory(try Self.rootfs(dir, ["index.html": "v1"])),
                run: .init(Cmd: ["httpd"]), command: Command())
            let v2 = try await pusher.push(
                "library/web.app_x:v2", from: .directory(try Self.rootfs(dir, ["index.html": "v2"])),
                run: .init(Cmd: ["httpd"]), command: Command())
            #expect(v1 != v2)
            let image = try await s.admin.get(.image, "library/web.app_x")
            #expect(image["spec"]?["tags"]?["v1"]?.stringValue == v1)
            #expect(image["spec"]?["tags"]?["v2"]?.stringValue == v2)
            #expect(image["status"]?["digests"]?.arrayValue?.count == 2)
            #expect(image["status"]?["layers"] == 2)
            #expect((image["status"]?["sizeBytes"]?.numberValue ?? 0) > 0)
            let plain = try await s.raw(.GET, "/api/v1/images/library/web.app_x")
            #expect(plain.status == 200)
            #expect(plain.json?["metadata"]?["name"] == "library/web.app_x")
            #expect(try await s.raw(.GET, "/api/v1/images/library/web.app_x/history").status == 200)
            // the same content pushed again: same digest, nothing uploaded
            let again = try await pusher.push(
                "library/web.app_x:v1", from: .directory(try Self.rootfs(dir, ["index.html": "v1"])),
                run: .init(Cmd: ["httpd"]), command: Command())
            #expect(again == v1)

            let untagged = try await s.admin.send(.DELETE, APIPaths.imageTag("library/web.app_x", tag: "v2")).json()
            #expect(untagged["spec"]?["tags"]?["v2"] == nil)
            #expect(untagged["status"]?["digests"]?.arrayValue == [.string(v1)])
            #expect(await kumoError { try await s.admin.send(.DELETE, APIPaths.imageTag("library/web.app_x", tag: "v2")) }?.code == .notFound)
            #expect(try await s.admin.blobSize(v2) == nil, "v2's blobs are collected")
            #expect(try await s.admin.blobSize(v1) != nil)
            let deleted = try await s.raw(.DELETE, "/api/v1/images/library/web.app_x")
            #expect(deleted.status == 200)
            #expect(try await s.admin.blobSize(v1) == nil)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256")) ?? []).isEmpty)
            let table = ImageListCommand.table([image])
            #expect(table.contains("library/web.app_x") && table.contains("v1,v2"))
        }
    }

    @Test("GC keeps unreferenced blobs younger than the grace period (a push in progress)")
    func gcGrace() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let bytes = Array("orphan".utf8)
            try await s.admin.upload(APIPaths.blob(FileDigest.sha256(of: bytes)), fromFile: Self.write(bytes, dir + "/b"))
            #expect(try await s.server.core.images.collectGarbage() == 0)
            #expect(try await s.server.core.images.collectGarbage(now: Date().addingTimeInterval(7200)) == 1)
        }
    }

    @Test("GC fails closed: a tagged manifest it cannot read stops it, and nothing is removed")
    func gcFailsClosed() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let digest = try await Self.pusher(s.admin).push(
                "team/kept:v1", from: .directory(try Self.rootfs(dir, ["index.html": "kept"])),
                run: .init(Cmd: ["httpd"]), command: Command())
            let orphan = Array("orphan".utf8)
            try await s.admin.upload(APIPaths.blob(FileDigest.sha256(of: orphan)), fromFile: Self.write(orphan, dir + "/o"))
            // the manifest blob damaged on disk (a duplicate key: the strict parser refuses it)
            let manifestFile = s.dir + "/blobs/sha256/" + digest.dropFirst("sha256:".count)
            try Data(#"{"schemaVersion": 2, "schemaVersion": 2}"#.utf8).write(to: URL(fileURLWithPath: manifestFile))
            let before = try FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256").sorted()
            let error = await kumoError { _ = try await s.server.core.images.collectGarbage(now: Date().addingTimeInterval(7200)) }
            #expect(error?.message.contains("team/kept:v1") == true)
            #expect(error?.message.contains("nothing removed") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256").sorted() == before)
        }
    }

    @Test("node and project tokens read images and blobs; neither pushes nor tags")
    func authorization() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let digest = try await Self.pusher(s.admin).push(
                "busybox:1", from: .directory(try Self.rootfs(dir, ["a": "b"])), run: .init(), command: Command())
            let node = try await Self.nodeClient(s, node: "n1")
            #expect(try await node.get(.image, "busybox")["spec"]?["tags"]?["1"]?.stringValue == digest)
            #expect(try await node.send(.GET, "/api/v1/images").json()["items"]?.arrayValue?.count == 1)
            #expect(try await node.download(APIPaths.blob(digest), to: dir + "/m") > 0)
            let file = Self.write(Array("x".utf8), dir + "/x")
            #expect(await kumoError { try await node.upload(APIPaths.blob(FileDigest.sha256(of: Array("x".utf8))), fromFile: file) }?.code == .forbidden)
            let manifest = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/m")))
            #expect(await kumoError { try await node.send(.PUT, APIPaths.imageTag("busybox", tag: "evil"), body: manifest) }?.code == .forbidden)
            #expect(await kumoError { try await node.send(.DELETE, APIPaths.imageTag("busybox", tag: "1")) }?.code == .forbidden)
            #expect(await kumoError { try await node.send(.DELETE, APIPaths.object(.image, project: nil, name: "busybox")) }?.code == .forbidden)

            _ = try await s.admin.create(Sample.project("p"), kind: .project)
            let token = try await s.admin.send(
                .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(project: "p", role: .edit)))
            ).decode(TokenInfo.self)
            let project = s.client(token: token.token!)
            #expect(try await project.blobSize(digest) != nil)
            #expect(await kumoError { try await project.send(.PUT, APIPaths.imageTag("busybox", tag: "evil"), body: manifest) }?.code == .forbidden)
        }
    }

    @Test("the CLI refuses a corrupt tar before uploading anything; a plain tar is gzipped")
    func pushFromTar() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let root = try Self.rootfs(dir, ["etc/motd": String(repeating: "hello ", count: 5000)])
            try await Command().check(["tar", "-cf", dir + "/ok.tar", "-C", root, "."])
            let whole = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/ok.tar")))
            let cut = Self.write(Array(whole.prefix(whole.count / 2)), dir + "/cut.tar")  // into motd's data
            let error = await kumoError {
                _ = try await Self.pusher(s.admin).push("t:1", from: .tar(cut), run: .init(), command: Command())
            }
            #expect(error?.code == .invalid)
            #expect(error?.field == "from-tar")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.dir + "/blobs/sha256")) ?? []).isEmpty)
            let digest = try await Self.pusher(s.admin).push("t:1", from: .tar(dir + "/ok.tar"), run: .init(), command: Command())
            let manifest = try await s.admin.send(.GET, APIPaths.blob(digest)).decode(OCIManifest.self)
            #expect(manifest.layers.first?.mediaType == OCIMediaType.layerGzip)
        }
    }

    @Test("an OCI image layout built elsewhere is pushed as is (same manifest digest); a damaged blob is refused")
    func pushLayout() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let builder = ImageBuilder(command: Command(), workDir: dir)
            let (layer, diffID) = try await builder.layer(fromDirectory: try Self.rootfs(dir, ["app/run": "#!/bin/sh\n"]))
            let config = try builder.config(diffIDs: [diffID], run: .init(Entrypoint: ["/app/run"]))
            let manifest = Array(try JSONEncoder().encode(OCIManifest(config: config.descriptor, layers: [layer.descriptor])))
            let layout = dir + "/layout"
            try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
            for blob in [layer, config] {
                try FileManager.default.copyItem(atPath: blob.path, toPath: layout + "/blobs/sha256/" + FileDigest.hex(of: blob.descriptor.digest)!)
            }
            let manifestDigest = FileDigest.sha256(of: manifest)
            _ = Self.write(manifest, layout + "/blobs/sha256/" + FileDigest.hex(of: manifestDigest)!)
            let index = OCIIndex(manifests: [
                OCIDescriptor(
                    mediaType: OCIMediaType.manifest, digest: manifestDigest, size: Int64(manifest.count),
                    annotations: [OCIDescriptor.refNameAnnotation: "1.0"])
            ])
            FileManager.default.createFile(atPath: layout + "/index.json", contents: try JSONEncoder().encode(index))
            let pushed = try await Self.pusher(s.admin).push("app:1.0", from: .layout(layout, ref: "1.0"), run: .init(), command: Command())
            #expect(pushed == manifestDigest)
            #expect(try await Self.pusher(s.admin).push("app:any", from: .layout(layout, ref: nil), run: .init(), command: Command()) == manifestDigest)
            let wrongRef = await kumoError {
                _ = try await Self.pusher(s.admin).push("app:x", from: .layout(layout, ref: "2.0"), run: .init(), command: Command())
            }
            #expect(wrongRef?.code == .notFound)
            _ = Self.write(Array("tampered".utf8), layout + "/blobs/sha256/" + FileDigest.hex(of: layer.descriptor.digest)!)
            let damaged = await kumoError {
                _ = try await Self.pusher(s.admin).push("app:2", from: .layout(layout, ref: "1.0"), run: .init(), command: Command())
            }
            #expect(damaged?.code == .invalid)
            #expect(damaged?.field == "digest")
        }
    }

    @Test("pushed with the CLI, pulled by a node's image store through the API (node token)")
    func pushThenPull() async throws {
        try await withServer { s in
            let dir = try Self.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let digest = try await Self.pusher(s.admin).push(
                "library/busybox:latest", from: .busybox, run: .init(Env: ["PATH=/bin"]), command: Command())
            let node = try await Self.nodeClient(s, node: "n1")
            var logger = Logger(label: "test.agent")
            logger.logLevel = .warning
            let store = ImageStore(
                directory: dir + "/agent", source: APIImageSource(client: node), command: Command(), logger: logger)
            let image = try await store.prepare("library/busybox")
            #expect(image.manifestDigest == digest)
            #expect(image.config.cmd == ["/bin/sh"])
            #expect(image.config.env == ["PATH=/bin"])
            #expect(FileManager.default.isExecutableFile(atPath: image.rootfs + "/bin/busybox"))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: image.rootfs + "/bin/sh") == "busybox")
            #expect(FileManager.default.fileExists(atPath: image.rootfs + "/www/index.html"))
            #expect(try String(contentsOfFile: image.rootfs + "/etc/passwd", encoding: .utf8).contains("nobody"))
            let missing = await kumoError { _ = try await store.prepare("library/busybox:nope") }
            #expect(missing?.code == .notFound)
            #expect(try await store.prepare("library/busybox@\(digest)").rootfs == image.rootfs)
        }
    }
}
