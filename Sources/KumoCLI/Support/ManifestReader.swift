import ArgumentParser
import Foundation
import KumoAPI
import KumoModel

/// Reads manifests from a file, a directory or stdin.
enum ManifestReader {
    static func read(_ path: String) throws(KumoError) -> [(JSONValue, String)] {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return try parse(data, source: "stdin")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw KumoError(.notFound, "no such file or directory: \(path)", field: "filename")
        }
        if isDir.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            var out: [(JSONValue, String)] = []
            for n in names where n.hasSuffix(".yaml") || n.hasSuffix(".yml") || n.hasSuffix(".json") {
                out += try read(path + "/" + n)
            }
            return out
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KumoError(.notFound, "cannot read \(path)", field: "filename")
        }
        return try parse(data, source: path)
    }

    static func parse(_ data: Data, source: String) throws(KumoError) -> [(JSONValue, String)] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw KumoError(.badRequest, "\(source) is not UTF-8 text")
        }
        let docs = try YAMLCodec.documents(text, source: source)
        return docs.enumerated().map { (i, d) in (d, docs.count > 1 ? "\(source) (document \(i + 1))" : source) }
    }
}
