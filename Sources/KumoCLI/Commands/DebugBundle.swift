import Foundation
import KumoAPI
import KumoImages
import KumoModel
import KumoSystem
import Logging

/// `kumo doctor --bundle FILE`, in the spirit of `nomad operator debug`: the doctor's report, every component's
/// state (server and each node's agent), health reports, metrics, events, node history, the audit log and the
/// last log lines of replicas the doctor names, in one tar.gz. Tokens, keys and secret values are redacted
/// before anything is written (`BundleRedaction`).
struct DebugBundle {
    let client: KumoClient
    /// The caller's own token: also removed wherever it appears as text.
    let token: String

    func write(to file: String) async throws(KumoError) {
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "kumo-bundle-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard (try? fm.createDirectory(atPath: dir + "/nodes", withIntermediateDirectories: true)) != nil else {
            throw KumoError(.internal, "cannot create \(dir)")
        }
        defer { try? fm.removeItem(atPath: dir) }
        var index: [String: JSONValue] = [:]
        func save(_ name: String, _ path: String, query: [(String, String)] = [], text: Bool = false) async {
            do {
                let r = try await client.send(.GET, path, query: query)
                let body = text ? BundleRedaction.redactText(String(decoding: r.body, as: UTF8.self), token: token)
                    : BundleRedaction.redact(try r.json(), token: token).prettyString
                try Data(body.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
                index[name] = .string(path)
            } catch {
                // a part that cannot be read is itself information: say so in the index, go on
                index[name] = .string("unavailable: \((error as? KumoError)?.message ?? "\(error)")")
            }
        }
        await save("version.json", "/version")
        await save("doctor.json", APIRoute.doctor.rawValue, query: [("fresh", "true")])
        await save("explain.json", APIRoute.explain.rawValue)
        await save("server-state.json", "/debug/state")
        await save("server-metrics.txt", "/metrics", text: true)
        await save("events.json", APIPaths.collection(.event, project: nil))
        await save("nodes.json", APIPaths.collection(.node, project: nil))
        await save("audit.json", "/api/v1/audit", query: [("limit", "500")])
        let nodes = (try? await client.send(.GET, APIPaths.collection(.node, project: nil)).json()["items"]?.arrayValue) ?? []
        for n in nodes.compactMap({ $0["metadata"]?["name"]?.stringValue }) {
            await save("nodes/\(n)-state.json", APIPaths.object(.node, project: nil, name: n) + "/state")
            await save("nodes/\(n)-health.json", APIPaths.nodeHealth(n))
            await save("nodes/\(n)-metrics.txt", APIPaths.object(.node, project: nil, name: n) + "/metrics", text: true)
            await save("nodes/\(n)-history.json", APIPaths.history(.node, project: nil, name: n))
        }
        // the last lines of the replicas the doctor's findings are about
        if let report = try? await client.send(.GET, APIRoute.doctor.rawValue).json() {
            var seen: Set<String> = []
            for f in report["checks"]?.arrayValue ?? [] {
                guard let o = f["object"], o["kind"]?.stringValue == "Replica", let p = o["project"]?.stringValue,
                    let name = o["name"]?.stringValue, seen.insert(p + "/" + name).inserted, seen.count <= 20
                else { continue }
                try? fm.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
                await save("logs/\(p)-\(name).log", APIPaths.replicaLogs(project: p, name: name), query: [("tail", "100")], text: true)
            }
        }
        do {
            try Data(JSONValue.object(index).prettyString.utf8).write(to: URL(fileURLWithPath: dir + "/index.json"))
        } catch {
            throw KumoError(.internal, "cannot write the bundle's index: \(error)")
        }
        try await TarWriter(command: Command(logger: Logger(label: "kumo.bundle"))).createLayer(from: dir, to: file, gzip: true)
    }
}

/// What a bundle never carries: values of keys that name a token, key, password or secret data, the caller's
/// token, and join tokens (`K10…::…`).
enum BundleRedaction {
    static let marker = "<redacted>"

    static func sensitive(_ key: String) -> Bool {
        let k = key.lowercased()
        if k == "data" || k == "stringdata" { return true }
        return ["token", "password", "secret", "credential", "privatekey", "keypem", "agentkey"].contains { k.contains($0) }
            && !["secretreferences", "secretwatch", "secrets", "tokenhint", "secretkeyids"].contains(k)
    }

    static func redact(_ v: JSONValue, token: String) -> JSONValue {
        switch v {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, x) in o {
                if sensitive(k), x.stringValue != nil || x.objectValue != nil {
                    out[k] = .string(marker)
                } else {
                    out[k] = redact(x, token: token)
                }
            }
            return .object(out)
        case .array(let a): return .array(a.map { redact($0, token: token) })
        case .string(let s): return .string(redactText(s, token: token))
        default: return v
        }
    }

    static func redactText(_ s: String, token: String) -> String {
        var out = token.count >= 8 ? s.replacingOccurrences(of: token, with: marker) : s
        // join tokens and bearer headers wherever they appear in text
        if let re = try? NSRegularExpression(pattern: "K10[0-9a-f]{16,}::[A-Za-z0-9._~+/=-]+|Bearer [A-Za-z0-9._~+/=-]+") {
            out = re.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: marker)
        }
        return out
    }
}
