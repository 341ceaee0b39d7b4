import Foundation
import KumoAgent
import KumoImages
import KumoModel
import KumoSystem
import KumoTestSupport
import Logging
import Testing

/// A real OCI image layout on disk, built with real tar, served through `DirectoryImageSource`.
struct LayoutFixture {
    let dir: String
    let command = Command()

    init() throws {
        dir = temporaryPath("layout")
        try FileManager.default.createDirectory(atPath: dir + "/blobs/sha256", withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Stores bytes as a blob; returns its descriptor.
    func blob(_ bytes: [UInt8], mediaType: String) throws -> OCIDescriptor {
        let digest = FileDigest.sha256(of: bytes)
        let path = dir + "/blobs/sha256/" + FileDigest.hex(of: digest)!
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// A gzip layer of `files` (path → content; content nil makes a directory).
    func layer(_ files: [String: String?]) async throws -> OCIDescriptor {
        let root = dir + "/src-\(UUID().uuidString.prefix(8))"
        for (path, content) in files {
            let full = root + "/" + path
            if let content {
                try FileManager.default.createDirectory(
                    atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: full, contents: Data(content.utf8))
            } else {
                try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
            }
        }
        let out = dir + "/layer.tgz"
        try await TarWriter(command: command).createLayer(from: root, to: out)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: out)))
        try FileManager.default.removeItem(atPath: root)
        unlink(out)
        return try blob(bytes, mediaType: OCIMediaType.layerGzip)
    }

    /// Writes config + manifest and (re)writes index.json naming it `tag`. Returns the manifest digest.
    @discardableResult
    func image(tag: String, layers: [OCIDescriptor], cmd: [String] = ["/bin/sh"]) throws -> String {
        let config = OCIImageConfig(
            architecture: "amd64", config: .init(Cmd: cmd, Env: ["PATH=/bin"], WorkingDir: "/srv"),
            rootfs: .init(diffIDs: layers.map(\.digest)))
        let configDesc = try blob(Array(try JSONEncoder().encode(config)), mediaType: OCIMediaType.config)
        let manifest = OCIManifest(config: configDesc, layers: layers)
        var desc = try blob(Array(try JSONEncoder().encode(manifest)), mediaType: OCIMediaType.manifest)
        desc.annotations = [OCIDescriptor.refNameAnnotation: tag]
        var index = (try? JSONDecoder().decode(OCIIndex.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/index.json"))))
            ?? OCIIndex(manifests: [])
        index.manifests.removeAll { $0.annotations?[OCIDescriptor.refNameAnnotation] == tag }
        index.manifests.append(desc)
        FileManager.default.createFile(atPath: dir + "/index.json", contents: try JSONEncoder().encode(index))
        return desc.digest
    }
}

@Suite("Agent image store")
struct ImageStoreTests {
    func store(_ layout: LayoutFixture) -> (ImageStore, String) {
        let dir = temporaryPath("images")
        var logger = Logger(label: "test.images")
        logger.logLevel = .warning
        return (ImageStore(directory: dir, source: DirectoryImageSource(directory: layout.dir), command: Command(), logger: logger), dir)
    }

    @Test("pull, then a cache hit; concurrent prepares share one pull; config is read")
    func pullAndCache() async throws {
        let layout = try LayoutFixture()
        defer { layout.remove() }
        let digest = try layout.image(tag: "latest", layers: [try await layout.layer(["bin/hello": "hi\n", "etc": nil])])
        let (images, dir) = store(layout)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        async let a = images.prepare("demo:latest")
        async let b = images.prepare("demo")
        let (first, second) = try await (a, b)
        #expect(first.manifestDigest == digest)
        #expect(second.rootfs == first.rootfs)
        #expect(try String(contentsOfFile: first.rootfs + "/bin/hello", encoding: .utf8) == "hi\n")
        #expect(first.config == ImageConfig(cmd: ["/bin/sh"], env: ["PATH=/bin"], workingDir: "/srv"))
        var stats = await images.statistics
        #expect(stats.pulls == 1)
        #expect(stats.bytesDownloaded > 0)
        let downloaded = stats.bytesDownloaded
        _ = try await images.prepare("demo@\(digest)")
        stats = await images.statistics
        #expect(stats.pulls == 1)
        #expect(stats.cacheHits == 2)
        #expect(stats.bytesDownloaded == downloaded)
        let state = await images.state()
        #expect(state["images"]?.arrayValue?.first?["digest"]?.stringValue == digest)
        // a new store over the same directory finds the unpacked image
        let again = ImageStore(directory: dir, source: DirectoryImageSource(directory: layout.dir), command: Command(), logger: Logger(label: "t"))
        _ = try await again.prepare("demo:latest")
        #expect(await again.statistics.pulls == 0)
    }

    @Test("whiteouts: .wh.<name> removes a lower file, .wh..wh..opq empties a lower directory")
    func whiteouts() async throws {
        let layout = try LayoutFixture()
        defer { layout.remove() }
        let lower = try await layout.layer([
            "etc/keep": "1", "etc/gone": "2", "var/cache/a": "a", "var/cache/b": "b", "data/old": "x",
        ])
        let upper = try await layout.layer([
            "etc/.wh.gone": "", "var/cache/.wh..wh..opq": "", "var/cache/c": "c", "data/new": "y",
        ])
        try layout.image(tag: "latest", layers: [lower, upper])
        let (images, dir) = store(layout)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try await images.prepare("demo:latest")
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: image.rootfs + "/etc/keep"))
        #expect(!fm.fileExists(atPath: image.rootfs + "/etc/gone"))
        #expect(!fm.fileExists(atPath: image.rootfs + "/etc/.wh.gone"), "markers are not extracted")
        #expect(try fm.contentsOfDirectory(atPath: image.rootfs + "/var/cache").sorted() == ["c"])
        #expect(try fm.contentsOfDirectory(atPath: image.rootfs + "/data").sorted() == ["new", "old"])
    }

    @Test("a blob whose content does not match its digest is deleted and the pull fails")
    func digestMismatch() async throws {
        let layout = try LayoutFixture()
        defer { layout.remove() }
        let layer = try await layout.layer(["f": "good"])
        try layout.image(tag: "latest", layers: [layer])
        FileManager.default.createFile(
            atPath: layout.dir + "/blobs/sha256/" + FileDigest.hex(of: layer.digest)!, contents: Data("evil".utf8))
        let (images, dir) = store(layout)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = await #expect(throws: KumoError.self) { _ = try await images.prepare("demo:latest") }
        #expect(error?.code == .invalid)
        #expect(error?.message.contains(layer.digest) == true)
        #expect(!FileManager.default.fileExists(atPath: dir + "/blobs/sha256/" + FileDigest.hex(of: layer.digest)!))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/rootfs").isEmpty)
    }

    @Test("a layer entry climbing out with .. is refused")
    func escape() async throws {
        let layout = try LayoutFixture()
        defer { layout.remove() }
        let src = layout.dir + "/evil"
        try FileManager.default.createDirectory(atPath: src + "/a", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: src + "/x", contents: Data("x".utf8))
        let tarFile = layout.dir + "/evil.tar"
        // GNU tar keeps `a/../../x` as written with -P; a hostile layer is made the same way
        try await Command().check(["tar", "-P", "-cf", tarFile, "-C", src, "a/../../evil/x"])
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: tarFile)))
        try layout.image(tag: "latest", layers: [try layout.blob(bytes, mediaType: OCIMediaType.layerTar)])
        let (images, dir) = store(layout)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let error = await #expect(throws: KumoError.self) { _ = try await images.prepare("demo:latest") }
        #expect(error?.message.contains("escapes") == true)
    }

    @Test("GC removes images not in use and unused for long enough, then their blobs")
    func garbageCollection() async throws {
        let layout = try LayoutFixture()
        defer { layout.remove() }
        let one = try layout.image(tag: "one", layers: [try await layout.layer(["f": "1"])])
        let two = try layout.image(tag: "two", layers: [try await layout.layer(["f": "2"])])
        let (images, dir) = store(layout)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try await images.prepare("demo:one")
        let b = try await images.prepare("demo:two")
        #expect(await images.collectGarbage(inUse: [], olderThan: .seconds(3600)) == .init(images: 0, blobs: 0))
        let result = await images.collectGarbage(inUse: [one], olderThan: .zero)
        #expect(result == .init(images: 1, blobs: 3))
        #expect(FileManager.default.fileExists(atPath: a.rootfs))
        #expect(!FileManager.default.fileExists(atPath: b.rootfs))
        let blobs = try FileManager.default.contentsOfDirectory(atPath: dir + "/blobs/sha256")
        #expect(blobs.count == 3)
        #expect(!blobs.contains(FileDigest.hex(of: two)!))
        // pulled again on demand
        _ = try await images.prepare("demo:two")
        #expect(await images.statistics.pulls == 3)
    }
}
